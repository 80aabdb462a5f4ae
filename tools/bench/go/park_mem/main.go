// park_mem: the Go twin of tools/bench/park_mem.cpp.
//
// Reads the resident set size from /proc/self/statm, starts N goroutines
// (default 1,000,000; argv[1] overrides) that each call parked.Done() and
// then block in gate.Wait() on a WaitGroup whose count is 1, waits until all
// have checked in, reads RSS again, and prints the difference divided by N:
//
//	park_mem bytes_per_goroutine <float>
//
// Then it opens the gate and waits on a third WaitGroup until every goroutine
// has exited, so the run also shows that all of them finish.
package main

import (
	"fmt"
	"gorobench/benchutil"
	"os"
	"strconv"
	"strings"
	"sync"
)

// rssBytes returns the resident set size: the second field of
// /proc/self/statm, in pages.
func rssBytes() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		fmt.Fprintln(os.Stderr, "park_mem: read /proc/self/statm:", err)
		os.Exit(1)
	}
	f := strings.Fields(string(b))
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		fmt.Fprintln(os.Stderr, "park_mem: parse /proc/self/statm:", err)
		os.Exit(1)
	}
	return pages * int64(os.Getpagesize())
}

func parker(parked, gate, exited *sync.WaitGroup) {
	parked.Done()
	gate.Wait()
	exited.Done()
}

func main() {
	n := benchutil.CountArg(1000000, "goroutines")

	var parked, gate, exited sync.WaitGroup
	gate.Add(1)
	parked.Add(n)
	exited.Add(n)

	before := rssBytes()
	for i := 0; i < n; i++ {
		go parker(&parked, &gate, &exited)
	}
	parked.Wait()
	after := rssBytes()

	gate.Done()
	exited.Wait()

	fmt.Printf("park_mem bytes_per_goroutine %.1f\n", float64(after-before)/float64(n))
}
