package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/docingest/docingest/document"
	"github.com/docingest/docingest/layout"
	"github.com/docingest/docingest/queue"
	"github.com/docingest/docingest/storage"
	"golang.org/x/sync/semaphore"
)

// Queue is what the consumer needs of a message queue: receive up to n deliveries
// (waiting up to wait for one, each invisible to others for visibility), delete one,
// change one's visibility. queue/sqsqueue implements it on SQS, queue.Memory in memory;
// queue/queuetest is the conformance suite both pass.
type Queue interface {
	Receive(ctx context.Context, n int, wait, visibility time.Duration) ([]queue.Delivery, error)
	Delete(ctx context.Context, d queue.Delivery) error
	ChangeVisibility(ctx context.Context, d queue.Delivery, visibility time.Duration) error
}

// statter is implemented by sources that can tell whether an object exists now.
type statter interface {
	Stat(ctx context.Context, key string) (storage.ObjectInfo, error)
}

// ConsumerConfig drives the SQS consumer.
type ConsumerConfig struct {
	QueueURL string
	// MaxInFlight bounds the messages held at once: a slot is taken before ReceiveMessage
	// and released after the message is deleted or handed back.
	MaxInFlight int
	// WaitTime is the long-poll duration of ReceiveMessage (at most 20 s).
	WaitTime time.Duration
	// Visibility is the visibility timeout set on receive and renewed by the heartbeat.
	Visibility time.Duration
	// Heartbeat is how often a message in progress gets its visibility renewed; it must
	// be well below Visibility.
	Heartbeat time.Duration
	// BackoffBase and BackoffMax bound the visibility given back to a message after a
	// transient failure: base × 2^(receives-1), capped, with jitter.
	BackoffBase, BackoffMax time.Duration
	// DrainTimeout is how long Shutdown waits for in-flight messages before cancelling them.
	DrainTimeout time.Duration
	// OutputBucket and OutputPrefix name where the pipeline writes, when that is S3: an
	// event for an object there is the worker's own output coming back (a bucket that
	// notifies the queue of its own outputs) and is never processed.
	OutputBucket, OutputPrefix string
}

// maxVisibility is SQS's limit on how long a message can stay invisible after receipt.
const maxVisibility = 12 * time.Hour

// Validate names the bad fields. SQS takes visibility timeouts and waits in whole
// seconds: a fraction would be cut off silently (a visibility of 1.5s below a heartbeat of
// 1.2s).
func (c *ConsumerConfig) Validate() error { return errors.Join(c.validate()...) }

func (c *ConsumerConfig) validate() []error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"wait_time", c.WaitTime}, {"visibility_timeout", c.Visibility}, {"backoff_base", c.BackoffBase}, {"backoff_max", c.BackoffMax}} {
		if d.v%time.Second != 0 {
			bad(d.name, "must be a whole number of seconds (SQS counts in seconds), got %s", d.v)
		}
	}
	if c.QueueURL == "" {
		bad("queue_url", "required")
	}
	if c.MaxInFlight < 1 || c.MaxInFlight > 1024 {
		bad("max_in_flight", "must be between 1 and 1024, got %d", c.MaxInFlight)
	}
	if c.WaitTime < 0 || c.WaitTime > 20*time.Second {
		bad("wait_time", "must be between 0 and 20s, got %s", c.WaitTime)
	}
	if c.Visibility < time.Second || c.Visibility > maxVisibility {
		bad("visibility_timeout", "must be between 1s and 12h, got %s", c.Visibility)
	}
	if c.Heartbeat <= 0 || c.Heartbeat >= c.Visibility {
		bad("heartbeat", "must be positive and below visibility_timeout (%s), got %s", c.Visibility, c.Heartbeat)
	}
	if c.BackoffBase <= 0 || c.BackoffMax < c.BackoffBase {
		bad("backoff_base", "need 0 < backoff_base <= backoff_max, got %s and %s", c.BackoffBase, c.BackoffMax)
	}
	if c.BackoffMax > maxVisibility {
		bad("backoff_max", "at most 12h (SQS's longest visibility timeout), got %s", c.BackoffMax)
	}
	if c.DrainTimeout < 0 {
		bad("drain_timeout", "must not be negative, got %s", c.DrainTimeout)
	}
	return errs
}

// Consumer long-polls SQS for S3 events and runs each object through the Pipeline. A
// message is deleted only after every output of every event in it is durably written;
// anything else leaves it to SQS, which redelivers it (and moves it to the dead-letter
// queue after the queue's maxReceiveCount).
type Consumer struct {
	cfg     ConsumerConfig
	queue   Queue
	src     Source
	p       *Pipeline
	log     *slog.Logger
	metrics *Metrics
	sem     *semaphore.Weighted
	wg      sync.WaitGroup
	ready   atomic.Bool
	// OnMessage, when set, is called after each message is settled (for tests and
	// instrumentation): deleted tells whether it was deleted.
	OnMessage func(id string, deleted bool, err error)
}

// NewConsumer checks the configuration and returns a consumer.
func NewConsumer(cfg ConsumerConfig, q Queue, src Source, p *Pipeline, log *slog.Logger, m *Metrics) (*Consumer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Consumer{cfg: cfg, queue: q, src: src, p: p, log: log, metrics: m, sem: semaphore.NewWeighted(int64(cfg.MaxInFlight))}, nil
}

// Ready reports whether the consumer has received from the queue at least once and is
// not shutting down.
func (c *Consumer) Ready() bool { return c.ready.Load() }

// Run receives and processes messages until receiveCtx ends, then waits for the messages
// in flight: they run under workCtx, which the caller cancels when the drain deadline
// passes (Serve does both). It returns nil on a clean stop.
func (c *Consumer) Run(receiveCtx, workCtx context.Context) error {
	defer c.wg.Wait()
	defer c.ready.Store(false)
	failures := 0
	for {
		if err := c.sem.Acquire(receiveCtx, 1); err != nil {
			return nil // stopping
		}
		slots := 1
		for slots < 10 && c.sem.TryAcquire(1) {
			slots++
		}
		start := time.Now()
		// The poll is not cancelled when stopping: a long poll abandoned mid-way can have
		// been handed messages that would then stay invisible for a whole visibility
		// timeout. It ends within WaitTime; what it brings after a stop is handed back.
		pollCtx, cancelPoll := context.WithTimeout(context.WithoutCancel(receiveCtx), c.cfg.WaitTime+30*time.Second)
		out, err := c.queue.Receive(pollCtx, slots, c.cfg.WaitTime, c.cfg.Visibility)
		cancelPoll()
		if c.metrics != nil {
			c.metrics.Receive.Observe(time.Since(start).Seconds())
		}
		if err == nil && receiveCtx.Err() != nil {
			for _, d := range out {
				if verr := c.queue.ChangeVisibility(context.WithoutCancel(receiveCtx), d, 0); verr != nil {
					c.log.Warn("could not hand back a message received while stopping", "message_id", d.ID, "error", verr)
				}
			}
			c.sem.Release(int64(slots))
			return nil
		}
		if err != nil {
			c.sem.Release(int64(slots))
			if receiveCtx.Err() != nil {
				return nil
			}
			failures++
			wait := min(time.Duration(failures)*time.Second, 30*time.Second)
			c.log.Error("receive failed", "error", err, "retry_in", wait)
			select {
			case <-receiveCtx.Done():
				return nil
			case <-time.After(wait):
			}
			continue
		}
		failures = 0
		c.ready.Store(true)
		if unused := slots - len(out); unused > 0 {
			c.sem.Release(int64(unused))
		}
		for _, msg := range out {
			c.wg.Add(1)
			go func() {
				defer c.wg.Done()
				defer c.sem.Release(1)
				c.handle(workCtx, msg)
			}()
		}
	}
}

// Serve runs the consumer until ctx ends, then stops receiving, lets in-flight messages
// finish for up to DrainTimeout, and cancels what is left (those messages are redelivered).
func (c *Consumer) Serve(ctx context.Context) error {
	workCtx, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, workCtx) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	c.ready.Store(false)
	c.log.Info("stopping: draining messages in flight", "deadline", c.cfg.DrainTimeout)
	select {
	case err := <-done:
		return err
	case <-time.After(c.cfg.DrainTimeout):
		c.log.Warn("drain deadline passed: cancelling unfinished messages; SQS will redeliver them")
		cancelWork()
		return <-done
	}
}

// handle settles one message: parse, process each event, then delete, or give the
// message back with a back-off visibility when an event failed transiently.
func (c *Consumer) handle(ctx context.Context, msg queue.Delivery) {
	id := msg.ID
	receives := max(msg.Receives, 1)
	log := c.log.With("message_id", id, "receive_count", receives)
	if c.metrics != nil {
		c.metrics.InFlight.Inc()
		defer c.metrics.InFlight.Dec()
	}
	hbCtx, stopHeartbeat := context.WithCancel(ctx)
	hbDone := make(chan struct{})
	go func() {
		defer close(hbDone)
		c.heartbeat(hbCtx, msg, log)
	}()
	err := c.process(ctx, id, msg.Body, receives, log)
	stopHeartbeat()
	<-hbDone

	deleted := false
	switch {
	case err == nil:
		if derr := c.queue.Delete(context.WithoutCancel(ctx), msg); derr != nil {
			log.Error("delete failed; the message will be redelivered and its outputs rewritten", "error", derr)
			err = derr
		} else {
			deleted = true
			c.count("deleted")
		}
	case ctx.Err() != nil:
		// Hand it back now rather than after its visibility timeout: another worker
		// takes it at once.
		if verr := c.queue.ChangeVisibility(context.WithoutCancel(ctx), msg, 0); verr != nil {
			log.Warn("cancelled before finishing; could not hand the message back, SQS will redeliver it after its visibility timeout", "error", verr)
		} else {
			log.Warn("cancelled before finishing; message handed back for redelivery")
		}
		c.count("handed_back")
	default:
		wait := c.backoff(receives)
		log.Warn("transient failure; message kept for redelivery", "error", err, "visible_in", wait.String())
		if verr := c.queue.ChangeVisibility(context.WithoutCancel(ctx), msg, wait); verr != nil {
			log.Error("could not set the message's back-off visibility; SQS will redeliver it after its visibility timeout", "error", verr)
		}
		c.count("retried")
	}
	if c.OnMessage != nil {
		c.OnMessage(id, deleted, err)
	}
}

func (c *Consumer) count(outcome string) {
	if c.metrics != nil {
		c.metrics.Messages.WithLabelValues(outcome).Inc()
	}
}

// process handles every event of a message. It returns nil when the message may be
// deleted: all events done, or the body is permanently unusable (recorded).
func (c *Consumer) process(ctx context.Context, id, body string, receives int, log *slog.Logger) error {
	m, err := ParseMessage(body)
	if err != nil {
		log.Error("malformed message: recorded and deleted", "error", err)
		c.count("malformed")
		if rerr := c.p.RecordMessageFailure(ctx, id, err); rerr != nil {
			return fmt.Errorf("record malformed message %s: %w", id, rerr)
		}
		return nil
	}
	if m.Test {
		log.Info("s3:TestEvent acknowledged")
		c.count("test")
		return nil
	}
	if m.Ignored > 0 {
		log.Info("records of other event types ignored", "count", m.Ignored)
	}
	for _, ev := range m.Events {
		if err := c.event(ctx, ev, receives, log); err != nil {
			return err
		}
	}
	return nil
}

// errObjectMissing is an event whose object is not under the key as spelled.
var errObjectMissing = errors.New("no object under that key")

// event applies one object event. When the key as the envelope spelled it names nothing
// (no object for a creation, no state for a removal), it tries the key's other spelling
// (Event.AltKey): envelopes disagree on URL-encoding.
func (c *Consumer) event(ctx context.Context, ev Event, receives int, log *slog.Logger) error {
	log = log.With("bucket", ev.Bucket, "key", ev.Key, "event", ev.Name)
	err := c.applyEvent(ctx, ev, receives, log)
	if errors.Is(err, errObjectMissing) && ev.AltKey != "" {
		alt := ev
		alt.Key, alt.AltKey = ev.AltKey, ""
		err = c.applyEvent(ctx, alt, receives, log.With("alt_key", alt.Key))
		if err == nil {
			log.Info("the key matched in its other spelling", "matched_key", alt.Key)
		}
	}
	if errors.Is(err, errObjectMissing) {
		if ev.Kind == ObjectRemoved {
			// Neither spelling has state: record the removal under the key as given, so
			// that a late creation event for it is known to be older.
			_, err = c.p.RemoveGone(ctx, c.src, ev.Bucket+"/"+ev.Key, ev.Sequencer)
			return err
		}
		log.Info("object no longer exists: its removal event will clean up")
		c.documents("skipped", "")
		return nil
	}
	return err
}

// applyEvent applies one object event under one spelling of its key, unless the state
// shows a newer (or the same) event for that source was applied already.
func (c *Consumer) applyEvent(ctx context.Context, ev Event, receives int, log *slog.Logger) error {
	if c.cfg.OutputBucket != "" && ev.Bucket == c.cfg.OutputBucket && layout.IsOutputKey(ev.Key, c.cfg.OutputPrefix) {
		log.Error("event for one of this worker's own outputs: not processed (the output bucket notifies this queue of its output prefix; narrow the notification's prefix)",
			"output", "s3://"+c.cfg.OutputBucket+"/"+c.cfg.OutputPrefix)
		c.documents("skipped", "own_output")
		return nil
	}
	if c.p.ReadsSidecars() && IsSidecar(ev.Key) {
		return c.sidecarEvent(ctx, ev, receives, log)
	}
	source := ev.Bucket + "/" + ev.Key
	st, found, err := c.p.CurrentState(ctx, source)
	if err != nil {
		return err
	}
	if found && ev.Sequencer != "" && st.Sequencer != "" && !SequencerLess(st.Sequencer, ev.Sequencer) {
		samePipeline := c.p.current(st.Pipeline)
		if SequencerLess(ev.Sequencer, st.Sequencer) || samePipeline || st.Status == statusDeleted {
			done := true
			if c.p.cfg.Vectors != nil && !SequencerLess(ev.Sequencer, st.Sequencer) && st.Status != statusDeleted {
				// the commit this event made may have failed to update the vector index
				if done, err = c.p.fullyCommitted(ctx, st); err != nil {
					return err
				}
			}
			if done {
				log.Info("event already applied or older than the state: nothing to do", "state_sequencer", st.Sequencer)
				c.documents("skipped", "")
				return nil
			}
			log.Info("event applied, but the vector index was not updated: processing it again")
		}
	}
	// Events without a sequencer come from a reindex (or replays): skip one that names the
	// very version the state already shows processed by this pipeline, so a reindex run
	// twice does not process twice.
	if found && ev.Sequencer == "" && ev.Kind == ObjectCreated && ev.ETag != "" && st.ETag == ev.ETag &&
		c.p.current(st.Pipeline) && st.Status != statusDeleted {
		same, err := c.sidecarUnchanged(ctx, source, st)
		if err != nil {
			return err
		}
		if same {
			log.Info("version already processed by this pipeline: nothing to do")
			c.documents("skipped", "")
			return nil
		}
	}
	start := time.Now()
	if ev.Kind == ObjectRemoved {
		if !found && ev.AltKey != "" {
			return errObjectMissing // perhaps the other spelling has the state
		}
		// A removal is acted on only when the object is really gone: a source processed
		// without an event (run, reindex) has no sequencer in its state to compare with,
		// and S3 answers reads after deletes consistently.
		removed, err := c.p.RemoveGone(ctx, c.src, source, ev.Sequencer)
		if err != nil {
			return err
		}
		if !removed {
			log.Info("object exists: removal event is stale, outputs kept")
			c.documents("skipped", "")
			return nil
		}
		log.Info("source removed: outputs deleted", "duration", time.Since(start))
		c.documents("removed", "")
		return nil
	}
	// Read the object as it is now (not the version the event named): when events for a
	// key race, every worker converges on the newest content. Size, ETag and version come
	// with the content.
	return c.processSource(ctx, Object{ObjectInfo: storage.ObjectInfo{Key: source}, Sequencer: ev.Sequencer}, receives, log)
}

// processSource runs one source through the pipeline and counts the outcome.
func (c *Consumer) processSource(ctx context.Context, obj Object, receives int, log *slog.Logger) error {
	start := time.Now()
	res, err := c.p.Process(ctx, c.src, obj, receives)
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return errObjectMissing
		}
		c.documents("retried", string(document.ReasonInternal))
		return err
	}
	if c.metrics != nil {
		c.metrics.observe(res)
	}
	if res.Failure != nil {
		log.Warn("document failed", "reason", res.Failure.Reason, "error", res.Failure.Error, "duration", time.Since(start))
		c.documents("failed", res.Failure.Reason)
		return nil
	}
	for _, a := range res.Attachments {
		if a.Status == statusFailed {
			log.Warn("attachment failed", "attachment", a.Key(), "reason", a.Reason)
			c.documents("failed", a.Reason)
		} else {
			c.documents("processed", "")
		}
	}
	log.Info("document processed", "chunks", res.Chunks, "attachments", len(res.Attachments), "bytes", res.Bytes, "duration", time.Since(start))
	c.documents("processed", "")
	return nil
}

func (c *Consumer) documents(outcome, reason string) {
	if c.metrics != nil {
		c.metrics.Documents.WithLabelValues(outcome, reason).Inc()
	}
}

// heartbeat renews the message's visibility every Heartbeat until ctx ends, and stops at
// SQS's 12-hour limit (the message then reappears and its redelivery rewrites the same
// outputs).
func (c *Consumer) heartbeat(ctx context.Context, msg queue.Delivery, log *slog.Logger) {
	received := time.Now()
	t := time.NewTicker(c.cfg.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		left := maxVisibility - time.Since(received) - time.Minute
		if left <= 0 {
			log.Warn("12-hour visibility limit reached: the message will be redelivered")
			return
		}
		vis := min(c.cfg.Visibility, left)
		if err := c.queue.ChangeVisibility(ctx, msg, vis); err != nil {
			if ctx.Err() == nil {
				log.Warn("heartbeat failed", "error", err)
			}
			if c.metrics != nil {
				c.metrics.Heartbeats.WithLabelValues("error").Inc()
			}
			continue
		}
		if c.metrics != nil {
			c.metrics.Heartbeats.WithLabelValues("ok").Inc()
		}
	}
}

// backoff is the visibility given back after a transient failure.
func (c *Consumer) backoff(receives int) time.Duration {
	d := c.cfg.BackoffBase << min(receives-1, 20)
	if d <= 0 || d > c.cfg.BackoffMax {
		d = c.cfg.BackoffMax
	}
	d = d/2 + time.Duration(rand.Int64N(int64(d/2)+1)) // jitter: half to full
	return max(d, time.Second)
}

// sidecarUnchanged reports whether the source's metadata sidecar is the one its state was
// made with (a HEAD when the state records one and the source can answer it).
func (c *Consumer) sidecarUnchanged(ctx context.Context, source string, st State) (bool, error) {
	sc, ok := c.src.(statter)
	if !ok {
		return st.SidecarETag == "", nil
	}
	info, err := sc.Stat(ctx, source+SidecarSuffix)
	if errors.Is(err, storage.ErrNotFound) {
		return st.SidecarETag == "", nil
	}
	if err != nil {
		return false, err
	}
	return info.ETag == st.SidecarETag, nil
}

// sidecarEvent reprocesses the source a metadata sidecar describes, when the sidecar was
// written or removed; the sidecar itself is never a source.
func (c *Consumer) sidecarEvent(ctx context.Context, ev Event, receives int, log *slog.Logger) error {
	source := ev.Bucket + "/" + SidecarSource(ev.Key)
	st, found, err := c.p.CurrentState(ctx, source)
	if err != nil {
		return err
	}
	if found && st.Status != statusDeleted && c.p.current(st.Pipeline) &&
		ev.Kind == ObjectCreated && ev.ETag != "" && ev.ETag == st.SidecarETag {
		log.Info("metadata sidecar already applied: nothing to do")
		c.documents("skipped", "")
		return nil
	}
	if found && st.Status == statusDeleted {
		log.Info("metadata sidecar of a removed source: nothing to do")
		c.documents("skipped", "")
		return nil
	}
	obj := ObjectAt(source)
	if found {
		obj.Sequencer = st.Sequencer // the sidecar's sequencer orders another key
	}
	log.Info("metadata sidecar changed: reprocessing its source", "source", source)
	return c.processSource(ctx, obj, receives, log)
}
