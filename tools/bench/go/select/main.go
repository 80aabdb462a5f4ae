// select: the Go twin of tools/bench/select.cpp.
//
// Producer p sends p, p+4, p+8, ... below M (default 1,000,000; argv[1]
// overrides) on its own unbuffered channel, then closes it. One goroutine
// selects over the 4 channels, setting a closed one to nil, and sums what it
// got. Prints the wall time divided by M:
//
//	select ns_per_op <float>
package main

import (
	"fmt"
	"gorobench/benchutil"
	"os"
	"time"
)

const producers = 4

func producer(ch chan<- int64, first, total int64) {
	for v := first; v < total; v += producers {
		ch <- v
	}
	close(ch)
}

func main() {
	total := int64(benchutil.CountArg(1000000, "messages"))
	var chans [producers]chan int64
	for i := range chans {
		chans[i] = make(chan int64)
	}
	start := time.Now()
	for p := 0; p < producers; p++ {
		go producer(chans[p], int64(p), total)
	}
	var sum int64
	a, b, c, d := chans[0], chans[1], chans[2], chans[3]
	for open := producers; open > 0; {
		select {
		case v, ok := <-a:
			if ok {
				sum += v
			} else {
				a = nil
				open--
			}
		case v, ok := <-b:
			if ok {
				sum += v
			} else {
				b = nil
				open--
			}
		case v, ok := <-c:
			if ok {
				sum += v
			} else {
				c = nil
				open--
			}
		case v, ok := <-d:
			if ok {
				sum += v
			} else {
				d = nil
				open--
			}
		}
	}
	elapsed := time.Since(start)
	if sum != total*(total-1)/2 {
		fmt.Fprintf(os.Stderr, "select: received values add up to %d, not %d\n", sum, total*(total-1)/2)
		os.Exit(1)
	}
	fmt.Printf("select ns_per_op %.1f\n", float64(elapsed.Nanoseconds())/float64(total))
}
