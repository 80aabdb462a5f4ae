// mutex: the Go twin of tools/bench/mutex.cpp.
//
// 8 goroutines contend on one sync.Mutex; each loops M times (default
// 1,000,000; argv[1] overrides): mu.Lock(); counter++; mu.Unlock(). Prints
// the wall time from starting the goroutines to the last one finishing,
// divided by the 8*M lock/unlock pairs:
//
//	mutex ns_per_op <float>
//
// Exits with status 1 if the counter is not exactly 8*M.
package main

import (
	"fmt"
	"gorobench/benchutil"
	"os"
	"sync"
	"time"
)

const goroutines = 8

func main() {
	iterations := benchutil.CountArg(1000000, "iterations per goroutine")

	var mu sync.Mutex
	var wg sync.WaitGroup
	counter := 0
	start := time.Now()
	wg.Add(goroutines)
	for g := 0; g < goroutines; g++ {
		go func() {
			for i := 0; i < iterations; i++ {
				mu.Lock()
				counter++
				mu.Unlock()
			}
			wg.Done()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)

	if counter != goroutines*iterations {
		fmt.Fprintf(os.Stderr, "mutex: counter %d, expected %d\n", counter, goroutines*iterations)
		os.Exit(1)
	}
	fmt.Printf("mutex ns_per_op %.1f\n", float64(elapsed.Nanoseconds())/float64(goroutines*iterations))
}
