// Package benchutil holds what the Go twins of the goro benchmarks share.
package benchutil

import (
	"fmt"
	"os"
	"strconv"
)

// CountArg returns os.Args[1] as a positive count, or fallback when absent.
// It exits with status 2 and a usage line on anything else.
func CountArg(fallback int, what string) int {
	if len(os.Args) < 2 {
		return fallback
	}
	v, err := strconv.Atoi(os.Args[1])
	if len(os.Args) > 2 || err != nil || v <= 0 {
		fmt.Fprintf(os.Stderr, "usage: %s [%s]\n", os.Args[0], what)
		os.Exit(2)
	}
	return v
}
