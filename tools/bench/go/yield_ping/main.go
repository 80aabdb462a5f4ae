// yield_ping: the Go twin of tools/bench/yield_ping.cpp.
//
// Two goroutines hand a turn back and forth: each one loops
// `for turn != me { runtime.Gosched() }`, then gives the turn to the other.
// One round is a turn for each side (A -> B -> A); default 1,000,000 rounds,
// argv[1] overrides. Prints the wall time divided by the number of rounds:
//
//	yield_ping ns_per_op <float>
package main

import (
	"fmt"
	"gorobench/benchutil"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

func player(turn *int32, me, other int32, rounds int, wg *sync.WaitGroup) {
	for i := 0; i < rounds; i++ {
		for atomic.LoadInt32(turn) != me {
			runtime.Gosched()
		}
		atomic.StoreInt32(turn, other)
	}
	wg.Done()
}

func main() {
	rounds := benchutil.CountArg(1000000, "rounds")

	var turn int32
	var wg sync.WaitGroup
	start := time.Now()
	wg.Add(2)
	go player(&turn, 0, 1, rounds, &wg)
	go player(&turn, 1, 0, rounds, &wg)
	wg.Wait()
	elapsed := time.Since(start)

	fmt.Printf("yield_ping ns_per_op %.1f\n", float64(elapsed.Nanoseconds())/float64(rounds))
}
