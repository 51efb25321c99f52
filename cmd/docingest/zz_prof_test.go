package main

import (
	"os"
	"testing"
)

func TestZZProfile(t *testing.T) {
	src := os.Getenv("PROF_SRC")
	if src == "" {
		t.Skip()
	}
	code, _, stderr := cli(t, []string{"DOCINGEST_OUTPUT_CHUNKS_FORMAT=" + os.Getenv("PROF_FORMAT")}, "run", src, "--out", t.TempDir())
	t.Log(code, stderr)
}
