// sieve: the Go twin of tools/bench/sieve.cpp.
//
// Go's classic concurrent prime sieve: a generator sends 2, 3, 4, ... on an
// unbuffered channel; main takes the first number off the end of the chain,
// the next prime p, and starts a filter goroutine that passes on what p does
// not divide into a new unbuffered channel, the chain's new end. It stops
// after the Nth prime (default N = 5,000; argv[1] overrides) and leaves the
// generator and the filters blocked, as the original does. Prints the wall
// time from starting the generator to receiving the Nth prime, in
// milliseconds:
//
//	sieve ms <float>
//
// and exits 1 unless that prime is the Nth one (48611 at the default;
// checked against trial division).
package main

import (
	"fmt"
	"gorobench/benchutil"
	"os"
	"time"
)

func generate(out chan<- int) {
	for i := 2; ; i++ {
		out <- i
	}
}

func filter(in <-chan int, out chan<- int, prime int) {
	for {
		v := <-in
		if v%prime != 0 {
			out <- v
		}
	}
}

// nthPrime is the nth prime by trial division, to check the sieve's answer.
func nthPrime(n int) int {
	found := 0
	for c := 2; ; c++ {
		prime := true
		for d := 2; d*d <= c; d++ {
			if c%d == 0 {
				prime = false
				break
			}
		}
		if prime {
			found++
			if found == n {
				return c
			}
		}
	}
}

func main() {
	n := benchutil.CountArg(5000, "primes")
	chain := make(chan int)
	prime := -1

	start := time.Now()
	go generate(chain)
	for i := 0; i < n; i++ {
		prime = <-chain
		next := make(chan int)
		go filter(chain, next, prime)
		chain = next
	}
	elapsed := time.Since(start)

	if want := nthPrime(n); prime != want {
		fmt.Fprintf(os.Stderr, "sieve: prime number %d came out as %d, not %d\n", n, prime, want)
		os.Exit(1)
	}
	fmt.Printf("sieve ms %.1f\n", float64(elapsed.Nanoseconds())/1e6)
}
