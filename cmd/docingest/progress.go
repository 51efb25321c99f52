package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progressEvery is how often a long run reports progress when standard error is not a
// terminal (a CI log, a file, a pipe): one line, so logs stay readable.
const progressEvery = 5 * time.Second

// progress reports a long pass over documents: a bar on a terminal, a line every
// progressEvery otherwise. Failure lines go through log so that they do not tear the bar.
type progress struct {
	w    io.Writer
	verb string
	bar  *progressbar.ProgressBar

	mu           sync.Mutex
	docs, failed int
	bytes, total int64
	start        time.Time

	stop    chan struct{}
	done    chan struct{}
	printed chan<- struct{}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// startProgress starts reporting on a.stderr; total is the number of bytes expected (0 if
// unknown). ticks, when not nil, replaces the timer of the line mode (tests drive it).
func (a *app) startProgress(verb string, total int64) *progress {
	p := &progress{w: a.stderr, verb: verb, total: total, start: time.Now(), printed: a.printed}
	if isTerminal(a.stderr) {
		size := total
		if size <= 0 {
			size = -1 // unknown: a spinner
		}
		p.bar = progressbar.NewOptions64(size,
			progressbar.OptionSetWriter(a.stderr),
			progressbar.OptionShowBytes(true),
			progressbar.OptionSetDescription(verb),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionShowCount(),
			progressbar.OptionClearOnFinish(),
		)
		return p
	}
	ticks, stopTicks := a.ticks()
	p.stop, p.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(p.done)
		defer stopTicks()
		for {
			select {
			case <-ticks:
				p.line()
				if p.printed != nil {
					p.printed <- struct{}{}
				}
			case <-p.stop:
				return
			}
		}
	}()
	return p
}

// ticks returns the line mode's timer: a.tick when a test set one, else a ticker.
func (a *app) ticks() (<-chan time.Time, func()) {
	if a.tick != nil {
		return a.tick, func() {}
	}
	t := time.NewTicker(progressEvery)
	return t.C, t.Stop
}

func (p *progress) line() {
	p.mu.Lock()
	defer p.mu.Unlock()
	of := ""
	if p.total > 0 {
		of = fmt.Sprintf(" of %.1f MB (%.0f%%)", float64(p.total)/1e6, 100*float64(p.bytes)/float64(p.total))
	}
	fmt.Fprintf(p.w, "%s: %d documents, %.1f MB%s, %d failed, %s\n", p.verb, p.docs, float64(p.bytes)/1e6, of, p.failed, time.Since(p.start).Round(time.Second))
}

// add counts one finished document of n bytes.
func (p *progress) add(n int64, failed bool) {
	p.mu.Lock()
	p.docs++
	p.bytes += n
	if failed {
		p.failed++
	}
	p.mu.Unlock()
	if p.bar != nil {
		_ = p.bar.Add64(n)
	}
}

// log prints a line (a failure) above the bar. It holds mu as line does: the two write
// to the same stream from different goroutines.
func (p *progress) log(line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		_ = p.bar.Clear()
	}
	fmt.Fprintln(p.w, line)
}

// finish stops reporting; the caller prints the summary.
func (p *progress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
	if p.stop != nil {
		close(p.stop)
		<-p.done
		p.stop = nil
	}
}
