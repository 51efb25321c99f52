package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/docingest/docingest/internal/emulators"
	"github.com/docingest/docingest/queue/sqsqueue"
	"github.com/docingest/docingest/storage"
)

// TestBenchWorkerVsRun compares, on the same objects in the same S3 server, the time of
// `docingest run s3://…` (no queue) with the time of `docingest worker` draining one event
// per object, and reports both processes' peak RSS. bench/worker.sh runs it for several
// corpus sizes; it is skipped otherwise.
func TestBenchWorkerVsRun(t *testing.T) {
	if os.Getenv("BENCH") == "" {
		t.Skip("set BENCH=1 (bench/worker.sh does)")
	}
	n, _ := strconv.Atoi(os.Getenv("BENCH_DOCS"))
	if n == 0 {
		n = 1000
	}
	conc := os.Getenv("BENCH_CONCURRENCY")
	if conc == "" {
		conc = "4"
	}
	sqsURL := emulators.Fauxqs(t)
	q := emulators.SQSClient(sqsURL)
	s3URL := emulators.GoFakeS3(t)
	s3c := emulators.S3Client(s3URL)
	emulators.CreateBucket(t, s3c, "uploads")
	emulators.CreateBucket(t, s3c, "out-direct") // one bucket each: listings cost what the
	emulators.CreateBucket(t, s3c, "out-queued") // bucket holds, so neither pays for the other
	queue, _ := emulators.Queue(t, q, 60*time.Second, 0)
	bin := buildBinary(t)
	ctx := context.Background()
	words := strings.Fields("the survey team walked the east bank and counted herons near the old mill while rain swelled the river")
	var entries []types.SendMessageBatchRequestEntry
	for i := 0; i < n; i++ {
		var b strings.Builder
		for p := 0; p < 4; p++ {
			for j := 0; j < 80; j++ {
				b.WriteString(words[(i*3+j*5+p)%len(words)])
				b.WriteByte(' ')
			}
			b.WriteString(".\n\n")
		}
		key := fmt.Sprintf("corpus/d%03d/doc%05d.txt", i/100, i)
		if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("uploads"), Key: aws.String(key), Body: strings.NewReader(b.String())}); err != nil {
			t.Fatal(err)
		}
		body := fmt.Sprintf(`{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"uploads"},"object":{"key":%q,"sequencer":"%016X"}}}]}`, key, i+1)
		entries = append(entries, types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(body)})
		if len(entries) == 10 || i == n-1 {
			if _, err := q.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(queue), Entries: entries}); err != nil {
				t.Fatal(err)
			}
			entries = entries[:0]
		}
	}
	env := append(os.Environ(),
		"AWS_ENDPOINT_URL_S3="+s3URL, "AWS_ENDPOINT_URL_SQS="+sqsURL, "AWS_REGION="+emulators.Region,
		"AWS_ACCESS_KEY_ID="+emulators.AccessKey, "AWS_SECRET_ACCESS_KEY="+emulators.SecretKey,
		"DOCINGEST_AWS_S3_PATH_STYLE=true", "DOCINGEST_WORKER_WAIT_TIME=1s", "DOCINGEST_WORKER_METRICS_ADDR="+os.Getenv("BENCH_METRICS_ADDR"),
		"DOCINGEST_RUN_CONCURRENCY="+conc, "DOCINGEST_WORKER_MAX_IN_FLIGHT="+conc)

	// docingest run, straight from S3
	start := time.Now()
	run := exec.Command(bin, "run", "s3://uploads/corpus/", "--out", "s3://out-direct/v1")
	run.Env = env
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	runPeak := watchPeak(run.Process.Pid)
	if err := run.Wait(); err != nil {
		t.Fatalf("run: %v", err)
	}
	runTime := time.Since(start)
	runRSS := runPeak()

	// docingest worker, draining the queue
	out := storage.NewS3(s3c, "out-queued", "v1", storage.S3Options{})
	start = time.Now()
	w := exec.Command(bin, "worker", "--queue-url", queue, "--out", "s3://out-queued/v1")
	w.Env = env
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	workerPeak := watchPeak(w.Process.Pid)
	drained := func() bool {
		visible, inFlight, err := sqsqueue.New(q, queue).Depth(ctx)
		return err == nil && visible == 0 && inFlight == 0
	}
	for !drained() {
		time.Sleep(250 * time.Millisecond) // light polling: the harness shares the 2 cores
	}
	workerTime := time.Since(start)
	workerRSS := workerPeak()
	_ = w.Process.Signal(syscall.SIGTERM)
	_ = w.Wait()
	files := 0
	out.List(ctx, "chunks/", true, func(storage.ObjectInfo) error { files++; return nil })
	if files != n {
		t.Fatalf("worker wrote %d chunk files for %d documents", files, n)
	}
	fmt.Printf("cpu: run %.2fs, worker %.2fs\n", (run.ProcessState.UserTime() + run.ProcessState.SystemTime()).Seconds(), (w.ProcessState.UserTime() + w.ProcessState.SystemTime()).Seconds())
	fmt.Printf("%6d documents  run: %7.2fs %6.1f docs/s %6.1f MiB   worker: %7.2fs %6.1f docs/s %6.1f MiB   worker/run time %.2fx\n",
		n, runTime.Seconds(), float64(n)/runTime.Seconds(), float64(runRSS)/1024,
		workerTime.Seconds(), float64(n)/workerTime.Seconds(), float64(workerRSS)/1024, workerTime.Seconds()/runTime.Seconds())
}

// watchPeak polls the process's own peak RSS (VmHWM, which starts afresh at exec; the
// rusage Maxrss of a child inherits the forking process's, here the test binary with
// gofakes3 in it) and returns a function giving the largest value seen, in KiB.
func watchPeak(pid int) func() int64 {
	var peak atomic.Int64
	stop := make(chan struct{})
	read := func() {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			return
		}
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmHWM:" {
				if kb, err := strconv.ParseInt(f[1], 10, 64); err == nil && kb > peak.Load() {
					peak.Store(kb)
				}
			}
		}
	}
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
				read()
			}
		}
	}()
	return func() int64 {
		read()
		close(stop)
		return peak.Load()
	}
}
