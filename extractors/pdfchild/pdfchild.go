// Package pdfchild runs PDF extraction in a child process (the same binary, e.g.
// `docingest extract-pdf`), killed at its time limit or memory cap, so that a PDF that
// hangs or balloons the PDF library never takes the worker with it.
package pdfchild

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/docingest/docingest/document"
	"github.com/docingest/docingest/extractors"
	"github.com/docingest/docingest/extractors/pdf"
	"github.com/docingest/docingest/internal/cgroup"
)

// childResult is what a PDF child writes on standard output: the document, or the
// failure's reason and message.
type childResult struct {
	Doc    *document.Document `json:"doc,omitempty"`
	Reason document.Reason    `json:"reason,omitempty"`
	Error  string             `json:"error,omitempty"`
}

// Serve is the child side of Extractor: it reads one PDF from in (at most
// maxInput bytes), extracts it with the backend (pdf.Extractor, or PDFium) under lim, and
// writes the result as JSON to out. Failures of the document are results, not errors;
// the error return is for I/O. `docingest extract-pdf` runs it.
func Serve(in io.Reader, out io.Writer, lim extractors.Limits, maxInput int64, backend string) error {
	data, err := io.ReadAll(io.LimitReader(in, maxInput+1))
	if err != nil {
		return err
	}
	var res childResult
	if int64(len(data)) > maxInput {
		res = childResult{Reason: document.ReasonTooLarge, Error: fmt.Sprintf("pdf: input over %d bytes", maxInput)}
	} else if doc, err := childExtract(backend, lim, data); err != nil {
		reason, _ := document.Classify(err)
		res = childResult{Reason: reason, Error: err.Error()}
	} else {
		res = childResult{Doc: &doc}
	}
	return json.NewEncoder(out).Encode(res)
}

// Extractor extracts PDFs in a child process, because nothing in-process can stop a
// goroutine stuck inside the PDF library (a self-referencing xref hangs it forever) or
// bound its memory. The child is killed when ctx ends (the Pipeline's PDF deadline),
// when its memory passes MaxRSS, or when its output passes MaxOutput. The memory cap is
// enforced by the kernel when Cgroup is set (each child in a memory cgroup of its own,
// where the OOM killer ends it), else by polling the child's resident memory from /proc;
// the child also runs with a soft GOMEMLIMIT below the cap. The parent never hangs and
// never dies with it.
type Extractor struct {
	// Command returns the child command, e.g. the docingest binary with "extract-pdf".
	// It must run Serve.
	Command func(ctx context.Context) *exec.Cmd
	// MaxRSS is the memory cap of the child in bytes (0: none).
	MaxRSS int64
	// MaxOutput caps the child's JSON output (the text cap plus structure).
	MaxOutput int64
	// Cgroup, when set, is where each child gets a memory cgroup capped at MaxRSS.
	Cgroup *cgroup.Parent
	// Logger reports a child that could not get its cgroup (it is then polled instead).
	Logger *slog.Logger
	// Format names the format in errors ("pdf" when empty).
	Format string
	// Parse, when set, turns the child's output into the document (a converter that
	// prints text); otherwise the output is Serve's JSON.
	Parse func(out []byte) (document.Document, error)
	// Observe, when set, is told each child's peak memory in bytes, as its cgroup
	// measured it (page cache included), or its peak resident set from the kernel's
	// rusage without a cgroup.
	Observe func(peakBytes int64, byCgroup bool)
}

func (e Extractor) Extract(ctx context.Context, data []byte) (document.Document, error) {
	format := e.Format
	if format == "" {
		format = "pdf"
	}
	cmd := e.Command(ctx)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return document.Document{}, fmt.Errorf("%s: start the extraction child: %w", format, err)
	}
	out := &cappedBuffer{max: e.MaxOutput}
	var stderr cappedBuffer
	stderr.max = 64 << 10
	cmd.Stdout, cmd.Stderr = out, &stderr
	cmd.WaitDelay = time.Second
	var group *cgroup.Group
	if e.Cgroup != nil && e.MaxRSS > 0 {
		if group, err = e.Cgroup.New(e.MaxRSS); err != nil {
			group = nil
			if e.Logger != nil {
				e.Logger.Warn("pdf child runs without its memory cgroup; its resident memory is polled instead", "err", err)
			}
		} else {
			defer group.Close()
		}
	}
	if group != nil {
		err = group.Start(cmd)
	} else {
		err = cmd.Start()
	}
	if err != nil {
		return document.Document{}, fmt.Errorf("%s: start the extraction child: %w", format, err)
	}
	// the input goes in only once the child is in its group
	fed := make(chan struct{})
	go func() {
		defer close(fed)
		_, _ = stdin.Write(data)
		_ = stdin.Close()
	}()
	var overMemory atomic.Bool
	stopPoll := make(chan struct{})
	if e.MaxRSS > 0 && group == nil {
		go pollRSS(cmd.Process, e.MaxRSS, &overMemory, stopPoll)
	}
	err = cmd.Wait()
	close(stopPoll)
	<-fed
	how := "its resident memory, polled"
	if group != nil {
		o := group.Outcome()
		if o.OOMKills > 0 {
			overMemory.Store(true)
			how = "the kernel's OOM killer in its cgroup"
		}
		if e.Observe != nil && o.PeakBytes > 0 {
			e.Observe(o.PeakBytes, true)
		}
	} else if e.Observe != nil && cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			e.Observe(ru.Maxrss<<10, false)
		}
	}
	switch {
	case overMemory.Load():
		return document.Document{}, document.Permanentf(document.ReasonMemory, "%s: extraction exceeded the memory cap of %d MiB (stopped by %s)", format, e.MaxRSS>>20, how)
	case ctx.Err() != nil:
		return document.Document{}, ctx.Err()
	case out.over:
		return document.Document{}, document.Permanentf(document.ReasonTooLarge, "%s: extracted text exceeds the output cap of %d bytes", format, e.MaxOutput)
	case err != nil:
		msg := strings.TrimSpace(stderr.String())
		if strings.Contains(msg, "out of memory") || strings.Contains(msg, "cannot allocate memory") {
			return document.Document{}, document.Permanentf(document.ReasonMemory, "%s: extraction ran out of memory", format)
		}
		return document.Document{}, document.Permanentf(document.ReasonCorrupt, "%s: extraction child failed (%v): %s", format, err, lastLine(msg))
	}
	if e.Parse != nil {
		return e.Parse(out.Bytes())
	}
	var res childResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		return document.Document{}, fmt.Errorf("%s: unreadable child output: %w", format, err)
	}
	if res.Doc == nil {
		if res.Reason == "" {
			res.Reason = document.ReasonCorrupt
		}
		return document.Document{}, document.Permanent(res.Reason, errors.New(res.Error))
	}
	return *res.Doc, nil
}

func pollRSS(p *os.Process, max int64, over *atomic.Bool, stop <-chan struct{}) {
	t := time.NewTicker(25 * time.Millisecond)
	defer t.Stop()
	path := "/proc/" + strconv.Itoa(p.Pid) + "/status"
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
				if kb, err := strconv.ParseInt(f[1], 10, 64); err == nil && kb<<10 > max {
					over.Store(true)
					_ = p.Kill()
					return
				}
			}
		}
	}
}

// cappedBuffer keeps at most max bytes (0: no cap) and remembers whether more came. It
// holds its bytes.Buffer in a field rather than embedding it: an embedded Buffer's
// ReadFrom would be promoted, and io.Copy (exec's copy of a child's output) would use it
// and bypass the cap.
type cappedBuffer struct {
	buf  bytes.Buffer
	max  int64
	over bool
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	if c.max > 0 && int64(c.buf.Len()+len(p)) > c.max {
		c.over = true
		return 0, errors.New("output over the cap")
	}
	return c.buf.Write(p)
}

func (c *cappedBuffer) Bytes() []byte  { return c.buf.Bytes() }
func (c *cappedBuffer) String() string { return c.buf.String() }

func lastLine(s string) string {
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

func childExtract(backend string, lim extractors.Limits, data []byte) (document.Document, error) {
	ctx := context.Background()
	if backend == extractors.BackendPDFium {
		p, err := pdf.NewPDFium(ctx)
		if err != nil {
			return document.Document{}, err
		}
		defer p.Close()
		return pdf.PDFiumExtractor{Limits: lim, PDFium: p}.Extract(ctx, data)
	}
	return pdf.Extractor{Limits: lim}.Extract(ctx, data)
}

// ForConfig returns the extractor that runs PDF extraction as `self extract-pdf`
// children (the docingest binary) with the caps and backend of lc, each in a memory
// cgroup of its own where lc.PDFCgroup allows. measuredBy says what will measure the
// children's peak memory: "cgroup", or "rusage" without one.
func ForConfig(self string, lc extractors.Config, logger *slog.Logger) (e Extractor, measuredBy string, err error) {
	maxRSS := lc.ChildMemory()
	args := []string{"extract-pdf",
		"--max-pages", strconv.Itoa(lc.MaxPages),
		"--max-text-bytes", strconv.FormatInt(int64(lc.MaxTextBytes), 10),
		"--max-input-bytes", strconv.FormatInt(int64(lc.MaxObjectBytes), 10),
		"--memory-limit", strconv.FormatInt(maxRSS*3/4, 10), // a soft Go limit below the cap
		"--backend", lc.PDFBackend,
	}
	var group *cgroup.Parent
	switch lc.PDFCgroup {
	case "off":
	case "auto":
		if group, err = cgroup.Find(""); err != nil {
			logger.Info("PDF children run without a memory cgroup: the parent polls their resident memory", "reason", err)
		}
	default:
		if group, err = cgroup.Find(lc.PDFCgroup); err != nil {
			return Extractor{}, "", fmt.Errorf("limits.pdf_cgroup: %w", err)
		}
	}
	measuredBy = "rusage"
	if group != nil {
		measuredBy = "cgroup"
		logger.Debug("PDF children each run in a memory cgroup", "parent", group.String(), "cap_bytes", maxRSS)
	}
	return Extractor{
		Command: func(ctx context.Context) *exec.Cmd {
			cmd := exec.CommandContext(ctx, self, args...)
			cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
			return cmd
		},
		MaxRSS:    maxRSS,
		MaxOutput: int64(lc.MaxTextBytes)*2 + 16<<20, // JSON escaping and structure
		Cgroup:    group,
		Logger:    logger,
	}, measuredBy, nil
}
