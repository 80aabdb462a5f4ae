// select_after: the Go twin of tools/bench/select_after.cpp.
//
// M rounds (default 2,000,000; argv[1] overrides) of "send i on a buffered
// channel, then receive it", with a plain receive and with
// select { case v := <-ch: case <-time.After(time.Hour): }, the pair
// repeated 5 times. Prints the best select round minus the best plain round:
//
//	select_after ns_per_op <float>
package main

import (
	"fmt"
	"gorobench/benchutil"
	"os"
	"time"
)

func plain(ch chan int64, n int64, sum *int64) float64 {
	start := time.Now()
	for i := int64(0); i < n; i++ {
		ch <- i
		*sum += <-ch
	}
	return float64(time.Since(start).Nanoseconds()) / float64(n)
}

func withAfter(ch chan int64, n int64, sum *int64) float64 {
	start := time.Now()
	for i := int64(0); i < n; i++ {
		ch <- i
		select {
		case v := <-ch:
			*sum += v
		case <-time.After(time.Hour):
		}
	}
	return float64(time.Since(start).Nanoseconds()) / float64(n)
}

func main() {
	n := int64(benchutil.CountArg(2000000, "rounds"))
	ch := make(chan int64, 1)
	var sumPlain, sumAfter int64
	bestPlain, bestAfter := 1e18, 1e18
	for rep := 0; rep < 5; rep++ {
		if v := plain(ch, n, &sumPlain); v < bestPlain {
			bestPlain = v
		}
		if v := withAfter(ch, n, &sumAfter); v < bestAfter {
			bestAfter = v
		}
	}
	if sumPlain != sumAfter {
		fmt.Fprintf(os.Stderr, "select_after: the loops received %d and %d\n", sumAfter, sumPlain)
		os.Exit(1)
	}
	fmt.Printf("select_after ns_per_op %.1f\n", bestAfter-bestPlain)
}
