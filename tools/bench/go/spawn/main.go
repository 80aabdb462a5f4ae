// spawn: the Go twin of tools/bench/spawn.cpp.
//
// The main goroutine starts N goroutines (default 1,000,000; argv[1]
// overrides), each of which calls wg.Done() on a WaitGroup that was given
// wg.Add(N) up front, then waits for all of them. Prints the wall time from
// the first `go` to the return of wg.Wait(), divided by N:
//
//	spawn ns_per_op <float>
package main

import (
	"fmt"
	"gorobench/benchutil"
	"sync"
	"time"
)

func worker(wg *sync.WaitGroup) {
	wg.Done()
}

func main() {
	n := benchutil.CountArg(1000000, "goroutines")

	var wg sync.WaitGroup
	start := time.Now()
	wg.Add(n)
	for i := 0; i < n; i++ {
		go worker(&wg)
	}
	wg.Wait()
	elapsed := time.Since(start)

	fmt.Printf("spawn ns_per_op %.1f\n", float64(elapsed.Nanoseconds())/float64(n))
}
