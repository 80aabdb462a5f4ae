// file_rw: the Go twin of tools/bench/file_rw.cpp.
//
// 4 goroutines each own a 1 MiB file in a fresh directory under /tmp
// (written before the clock starts) and do M operations on it (default
// 20,000; argv[1] overrides), alternating os.File's WriteAt and ReadAt of 4
// KiB, at block offsets that walk the file. Prints the wall time from
// starting the goroutines to the last one finishing, divided by the 4*M
// operations:
//
//	file_rw ns_per_op <float>
//
// Exits with status 1 if an operation fails or a read does not return the
// block written there.
package main

import (
	"bytes"
	"fmt"
	"gorobench/benchutil"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

const (
	goroutines = 4
	block      = 4096
	blocks     = 256 // 1 MiB per file
)

func main() {
	ops := benchutil.CountArg(20000, "operations per goroutine")
	if ops%2 != 0 {
		ops++ // write, read pairs
	}

	dir, err := os.MkdirTemp("/tmp", "goro-bench-file-rw-go-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "file_rw:", err)
		os.Exit(1)
	}
	defer os.RemoveAll(dir)
	fill := bytes.Repeat([]byte{'x'}, blocks*block)
	files := make([]*os.File, goroutines)
	for i := range files {
		path := filepath.Join(dir, fmt.Sprintf("f%d", i))
		if err := os.WriteFile(path, fill, 0o666); err != nil {
			fmt.Fprintln(os.Stderr, "file_rw:", err)
			os.Exit(1)
		}
		if files[i], err = os.OpenFile(path, os.O_RDWR, 0); err != nil {
			fmt.Fprintln(os.Stderr, "file_rw:", err)
			os.Exit(1)
		}
	}

	var failures atomic.Int32
	var wg sync.WaitGroup
	start := time.Now()
	wg.Add(goroutines)
	for g := 0; g < goroutines; g++ {
		go func(f *os.File, id int) {
			defer wg.Done()
			out := bytes.Repeat([]byte{byte('a' + id)}, block)
			in := make([]byte, block)
			for i := 0; i < ops; i += 2 {
				off := int64((i / 2) % blocks * block)
				out[0] = byte(i) // each write differs from the last one at the block
				w, werr := f.WriteAt(out, off)
				r, rerr := f.ReadAt(in, off)
				if werr != nil || w != block || rerr != nil || r != block || !bytes.Equal(in, out) {
					failures.Add(1)
					return
				}
			}
		}(files[g], g)
	}
	wg.Wait()
	elapsed := time.Since(start)

	for _, f := range files {
		f.Close()
	}
	if n := failures.Load(); n != 0 {
		fmt.Fprintf(os.Stderr, "file_rw: %d goroutines saw a failed or short operation\n", n)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	fmt.Printf("file_rw ns_per_op %.1f\n", float64(elapsed.Nanoseconds())/float64(goroutines*ops))
}
