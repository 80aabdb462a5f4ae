// chan_pingpong: the Go twin of tools/bench/chan_pingpong.cpp.
//
// The pinger sends i on ping and waits for it to come back on pong; the
// ponger receives from ping and sends what it got on pong, until the pinger
// closes ping. Both channels are unbuffered. Default 1,000,000 round trips,
// argv[1] overrides. Prints the wall time divided by the number of round
// trips:
//
//	chan_pingpong ns_per_op <float>
package main

import (
	"fmt"
	"gorobench/benchutil"
	"os"
	"sync"
	"time"
)

func pinger(ping chan<- int, pong <-chan int, rounds int, wg *sync.WaitGroup) {
	for i := 0; i < rounds; i++ {
		ping <- i
		v, ok := <-pong
		if !ok || v != i {
			fmt.Fprintf(os.Stderr, "chan_pingpong: sent %d, got %d back\n", i, v)
			os.Exit(1)
		}
	}
	close(ping)
	wg.Done()
}

func ponger(ping <-chan int, pong chan<- int, wg *sync.WaitGroup) {
	for v := range ping {
		pong <- v
	}
	wg.Done()
}

func main() {
	rounds := benchutil.CountArg(1000000, "round trips")

	ping := make(chan int)
	pong := make(chan int)
	var wg sync.WaitGroup
	start := time.Now()
	wg.Add(2)
	go pinger(ping, pong, rounds, &wg)
	go ponger(ping, pong, &wg)
	wg.Wait()
	elapsed := time.Since(start)

	fmt.Printf("chan_pingpong ns_per_op %.1f\n", float64(elapsed.Nanoseconds())/float64(rounds))
}
