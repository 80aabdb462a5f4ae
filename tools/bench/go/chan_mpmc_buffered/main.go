// chan_mpmc_buffered: the Go twin of tools/bench/chan_mpmc.cpp built with a
// capacity of 1024: 4 producers and 4 consumers, 4,000,000 messages by
// default (argv[1] overrides). See package mpmc.
package main

import "gorobench/mpmc"

func main() { mpmc.Run("chan_mpmc_buffered", 1024, 4000000) }
