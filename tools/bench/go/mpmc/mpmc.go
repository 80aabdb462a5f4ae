// Package mpmc is the body of the Go twins of tools/bench/chan_mpmc.cpp:
// chan_mpmc_buffered and chan_mpmc_unbuffered differ only in the channel's
// capacity and the default message count.
package mpmc

import (
	"fmt"
	"gorobench/benchutil"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

const (
	producers = 4
	consumers = 4
)

func producer(ch chan<- int, first, total int, wg *sync.WaitGroup) {
	for v := first; v < total; v += producers {
		ch <- v
	}
	wg.Done()
}

func consumer(ch <-chan int, sum *int64, wg *sync.WaitGroup) {
	var local int64
	for v := range ch {
		local += int64(v)
	}
	atomic.AddInt64(sum, local)
	wg.Done()
}

// Run makes a channel of the given capacity; 4 producers send the values
// 0..M-1 between them (producer p sends p, p+4, p+8, ...; M is argv[1], or
// fallback), 4 consumers range over the channel, and main closes it once the
// producers are done. Prints the wall time from the first go statement to the
// last consumer's exit, divided by M, as "<name> ns_per_op <float>"; exits 1
// if the values received do not add up to 0 + 1 + ... + (M-1).
func Run(name string, capacity, fallback int) {
	total := benchutil.CountArg(fallback, "messages")

	ch := make(chan int, capacity)
	var sent, received sync.WaitGroup
	var sum int64
	start := time.Now()
	sent.Add(producers)
	received.Add(consumers)
	for p := 0; p < producers; p++ {
		go producer(ch, p, total, &sent)
	}
	for c := 0; c < consumers; c++ {
		go consumer(ch, &sum, &received)
	}
	sent.Wait()
	close(ch)
	received.Wait()
	elapsed := time.Since(start)

	if want := int64(total) * int64(total-1) / 2; sum != want {
		fmt.Fprintf(os.Stderr, "%s: received values add up to %d, not %d\n", name, sum, want)
		os.Exit(1)
	}
	fmt.Printf("%s ns_per_op %.1f\n", name, float64(elapsed.Nanoseconds())/float64(total))
}
