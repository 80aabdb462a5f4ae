// chan_mpmc_unbuffered: the Go twin of tools/bench/chan_mpmc.cpp built with
// an unbuffered channel: 4 producers and 4 consumers, 1,000,000 messages by
// default (argv[1] overrides). See package mpmc.
package main

import "gorobench/mpmc"

func main() { mpmc.Run("chan_mpmc_unbuffered", 0, 1000000) }
