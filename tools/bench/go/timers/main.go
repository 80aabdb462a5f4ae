// timers: the Go twin of tools/bench/timers.cpp.
//
// N goroutines (default 100,000; argv[1] overrides) each sleep 10 ms at
// once and record how late they woke. Prints:
//
//	timers wall_ms <float>
//	timers late_mean_us <float>
//	timers late_max_us <float>
package main

import (
	"fmt"
	"gorobench/benchutil"
	"sync"
	"time"
)

const nap = 10 * time.Millisecond

func main() {
	n := benchutil.CountArg(100000, "goroutines")
	late := make([]time.Duration, n)
	var wg sync.WaitGroup
	wg.Add(n)
	start := time.Now()
	for i := 0; i < n; i++ {
		go func(slot *time.Duration) {
			deadline := time.Now().Add(nap)
			time.Sleep(nap)
			*slot = time.Since(deadline)
			wg.Done()
		}(&late[i])
	}
	wg.Wait()
	wall := time.Since(start)
	var sum, worst time.Duration
	for _, l := range late {
		sum += l
		if l > worst {
			worst = l
		}
	}
	fmt.Printf("timers wall_ms %.3f\n", float64(wall.Nanoseconds())/1e6)
	fmt.Printf("timers late_mean_us %.1f\n", float64(sum.Nanoseconds())/float64(n)/1e3)
	fmt.Printf("timers late_max_us %.1f\n", float64(worst.Nanoseconds())/1e3)
}
