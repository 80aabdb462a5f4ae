// skynet: the Go twin of tools/bench/skynet.cpp.
//
// The classic skynet benchmark: a 10-ary tree of goroutines over the numbers
// 0..N-1 (default N = 1,000,000, 6 levels; argv[1] overrides, and must be a
// power of 10). Each inner node makes its own unbuffered channel, starts 10
// children on it, adds up the 10 values they send and sends the sum to its
// parent; a leaf sends its number. Prints the wall time from starting the
// root to receiving its sum, in milliseconds:
//
//	skynet ms <float>
//
// and exits 1 if the sum is not 0 + 1 + ... + (N-1).
package main

import (
	"fmt"
	"gorobench/benchutil"
	"os"
	"time"
)

const fanout = 10

func skynet(parent chan<- int64, num, size int64) {
	if size == 1 {
		parent <- num
		return
	}
	children := make(chan int64)
	sub := size / fanout
	for i := int64(0); i < fanout; i++ {
		go skynet(children, num+i*sub, sub)
	}
	var sum int64
	for i := 0; i < fanout; i++ {
		sum += <-children
	}
	parent <- sum
}

func main() {
	n := int64(benchutil.CountArg(1000000, "leaves, a power of 10"))
	p := int64(1)
	for p < n {
		p *= fanout
	}
	if p != n {
		fmt.Fprintf(os.Stderr, "usage: %s [leaves, a power of 10]\n", os.Args[0])
		os.Exit(2)
	}

	root := make(chan int64)
	start := time.Now()
	go skynet(root, 0, n)
	sum := <-root
	elapsed := time.Since(start)

	if want := n * (n - 1) / 2; sum != want {
		fmt.Fprintf(os.Stderr, "skynet: the sum is %d, not %d\n", sum, want)
		os.Exit(1)
	}
	fmt.Printf("skynet ms %.1f\n", float64(elapsed.Nanoseconds())/1e6)
}
