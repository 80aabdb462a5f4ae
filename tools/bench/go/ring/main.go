// ring: the Go twin of tools/bench/ring.cpp.
//
// 10,000 goroutines stand in a ring of unbuffered channels; goroutine i
// receives from channel i and sends to channel i+1 (mod 10,000). Main sends 0
// on channel 0; each goroutine forwards count+1, H hops in all (default
// 1,000,000; argv[1] overrides). The goroutine that receives H records it and
// closes its right channel; a goroutine whose left channel is closed closes
// its right one and exits, so all 10,000 exit. Prints the wall time from the
// first `go` to the last goroutine's exit, divided by H:
//
//	ring ns_per_op <float>
//
// and exits 1 unless the count H arrived at goroutine H mod 10,000.
package main

import (
	"fmt"
	"gorobench/benchutil"
	"os"
	"sync"
	"time"
)

const ringSize = 10000

type outcome struct {
	count int // the count that stopped the ring
	at    int // the goroutine that received it
}

func member(index int, left <-chan int, right chan<- int, hops int, out *outcome, wg *sync.WaitGroup) {
	for {
		v, ok := <-left
		if !ok { // the stop came round: pass it on
			close(right)
			break
		}
		if v == hops { // the last hop ended here: start the stop
			out.count = v
			out.at = index
			close(right)
			break
		}
		right <- v + 1
	}
	wg.Done()
}

func main() {
	hops := benchutil.CountArg(1000000, "hops")
	links := make([]chan int, ringSize)
	for i := range links {
		links[i] = make(chan int)
	}
	out := outcome{count: -1, at: -1}
	var wg sync.WaitGroup

	start := time.Now()
	wg.Add(ringSize)
	for i := 0; i < ringSize; i++ {
		go member(i, links[i], links[(i+1)%ringSize], hops, &out, &wg)
	}
	links[0] <- 0
	wg.Wait()
	elapsed := time.Since(start)

	if out.count != hops || out.at != hops%ringSize {
		fmt.Fprintf(os.Stderr, "ring: the count %d stopped at goroutine %d, not %d at %d\n", out.count, out.at,
			hops, hops%ringSize)
		os.Exit(1)
	}
	fmt.Printf("ring ns_per_op %.1f\n", float64(elapsed.Nanoseconds())/float64(hops))
}
