// Command gen writes every hostile upload of package hostile into a folder, one
// sub-folder per case (so that bench/hostile.sh can run docingest on each alone).
//
//	go run ./internal/hostile/gen [-scale 1] DIR
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/docingest/docingest/internal/hostile"
)

func main() {
	scale := flag.Float64("scale", 1, "size relative to the reported uploads")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: gen [-scale S] DIR")
		os.Exit(2)
	}
	for _, c := range hostile.Cases() {
		dir := filepath.Join(flag.Arg(0), c.Name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			fail(err)
		}
		if err := write(filepath.Join(dir, c.File), c.Write, *scale); err != nil {
			fail(err)
		}
		if c.Sidecar != nil {
			if err := write(filepath.Join(dir, c.File+".metadata.json"), c.Sidecar, *scale); err != nil {
				fail(err)
			}
		}
	}
}

func write(path string, fn func(io.Writer, float64) error, scale float64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := fn(bw, scale); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "gen:", err)
	os.Exit(1)
}
