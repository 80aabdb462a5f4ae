// wake_latency: the Go twin of tools/bench/wake_latency.cpp.
//
// Two Ps (GOMAXPROCS=2; compare.sh sets it). The waker busy-waits 200us
// between rounds, longer than Go's spinning Ms look for work, so the other P
// is idle and its M asleep. Then the waker stamps t0 and sends it to the
// sleeper, parked in a receive: the send readies it into the waker's runnext
// and wakes an idle P (wakep). A second send readies a decoy into runnext,
// which moves the sleeper to the run queue's tail, where the woken P steals
// it at once rather than after the ~3us it leaves a running P's runnext
// alone. The sleeper records now - t0. Default 2,000 rounds (argv[1]
// overrides), the first 20 not counted. Prints the median:
//
//	wake_latency median_ns_per_wake <float>
//
// and on stderr the percentiles and the waker's cost (the median time its
// send takes, which includes waking a P).
package main

import (
	"fmt"
	"gorobench/benchutil"
	"os"
	"sort"
	"sync"
	"time"
)

const (
	warmup = 20
	pause  = 200 * time.Microsecond
)

var base = time.Now()

func nowNs() int64 { return int64(time.Since(base)) }

func sleeper(in <-chan int64, latencies *[]int64, wg *sync.WaitGroup) {
	for t0 := range in {
		*latencies = append(*latencies, nowNs()-t0)
	}
	wg.Done()
}

func decoy(in <-chan int, wg *sync.WaitGroup) {
	for range in {
	}
	wg.Done()
}

func percentile(sorted []int64, q float64) float64 {
	return float64(sorted[int(q*float64(len(sorted)-1)+0.5)])
}

func main() {
	rounds := benchutil.CountArg(2000, "rounds")

	wake := make(chan int64)
	kick := make(chan int)
	latencies := make([]int64, 0, rounds+warmup)
	sendCosts := make([]int64, 0, rounds+warmup) // the waker's side: the send that wakes a P
	var wg sync.WaitGroup
	wg.Add(2)
	go sleeper(wake, &latencies, &wg)
	go decoy(kick, &wg)
	for i := 0; i < rounds+warmup; i++ {
		for until := nowNs() + int64(pause); nowNs() < until; {
		}
		t0 := nowNs()
		wake <- t0
		sendCosts = append(sendCosts, nowNs()-t0)
		kick <- i
	}
	close(wake)
	close(kick)
	wg.Wait()

	latencies = latencies[warmup:]
	sendCosts = sendCosts[warmup:]
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	sort.Slice(sendCosts, func(i, j int) bool { return sendCosts[i] < sendCosts[j] })
	fmt.Fprintf(os.Stderr, "wake_latency: %d wakes: min %.0f p50 %.0f p90 %.0f p99 %.0f ns; the waker's send p50 %.0f ns\n",
		len(latencies), percentile(latencies, 0), percentile(latencies, 0.5), percentile(latencies, 0.9),
		percentile(latencies, 0.99), percentile(sendCosts, 0.5))
	fmt.Printf("wake_latency median_ns_per_wake %.1f\n", percentile(latencies, 0.5))
}
