// Package queuetest is the conformance suite of the worker's queues (go-cloud's
// drivertest, watermill's pubsub tests): queue.Memory and sqsqueue on an SQS emulator
// both pass it, so a consumer test on the memory queue says something about SQS.
package queuetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/docingest/docingest/queue"
)

// Queue is a queue under test.
type Queue interface {
	Send(ctx context.Context, body string) (string, error)
	Receive(ctx context.Context, max int, wait, visibility time.Duration) ([]queue.Delivery, error)
	Delete(ctx context.Context, d queue.Delivery) error
	ChangeVisibility(ctx context.Context, d queue.Delivery, visibility time.Duration) error
	Depth(ctx context.Context) (visible, inFlight int, err error)
}

// Run runs the suite; newQueue returns an empty queue for each subtest.
func Run(t *testing.T, newQueue func(t *testing.T) Queue) {
	t.Run("SendReceiveDelete", func(t *testing.T) { sendReceiveDelete(t, newQueue(t)) })
	t.Run("InvisibleWhileInFlight", func(t *testing.T) { invisibleWhileInFlight(t, newQueue(t)) })
	t.Run("HandBack", func(t *testing.T) { handBack(t, newQueue(t)) })
	t.Run("VisibilityTimeoutRedelivers", func(t *testing.T) { visibilityTimeoutRedelivers(t, newQueue(t)) })
	t.Run("ExtendVisibility", func(t *testing.T) { extendVisibility(t, newQueue(t)) })
	t.Run("ReceiveAtMostMax", func(t *testing.T) { receiveAtMostMax(t, newQueue(t)) })
	t.Run("LongPollWakes", func(t *testing.T) { longPollWakes(t, newQueue(t)) })
	t.Run("EmptyPollEnds", func(t *testing.T) { emptyPollEnds(t, newQueue(t)) })
}

func send(t *testing.T, q Queue, body string) string {
	t.Helper()
	id, err := q.Send(context.Background(), body)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func receive(t *testing.T, q Queue, max int, wait, vis time.Duration) []queue.Delivery {
	t.Helper()
	ds, err := q.Receive(context.Background(), max, wait, vis)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// receiveOne polls (up to 5 s) until a delivery comes.
func receiveOne(t *testing.T, q Queue, vis time.Duration) queue.Delivery {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if ds := receive(t, q, 1, time.Second, vis); len(ds) > 0 {
			if len(ds) != 1 {
				t.Fatalf("asked for 1, got %d", len(ds))
			}
			return ds[0]
		}
	}
	t.Fatal("no delivery within 10 s")
	return queue.Delivery{}
}

func depth(t *testing.T, q Queue) (int, int) {
	t.Helper()
	v, f, err := q.Depth(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return v, f
}

func sendReceiveDelete(t *testing.T, q Queue) {
	ctx := context.Background()
	id := send(t, q, `{"hello":"world"}`)
	d := receiveOne(t, q, 30*time.Second)
	if d.ID != id || d.Body != `{"hello":"world"}` || d.Receives != 1 || d.Receipt == "" {
		t.Fatalf("delivery %+v of message %s", d, id)
	}
	if v, f := depth(t, q); v != 0 || f != 1 {
		t.Errorf("depth after receive: %d visible, %d in flight; want 0, 1", v, f)
	}
	if err := q.Delete(ctx, d); err != nil {
		t.Fatal(err)
	}
	if v, f := depth(t, q); v != 0 || f != 0 {
		t.Errorf("depth after delete: %d visible, %d in flight; want 0, 0", v, f)
	}
	if ds := receive(t, q, 10, 0, 30*time.Second); len(ds) != 0 {
		t.Errorf("deleted message delivered again: %+v", ds)
	}
}

func invisibleWhileInFlight(t *testing.T, q Queue) {
	send(t, q, "a")
	receiveOne(t, q, 30*time.Second)
	if ds := receive(t, q, 10, time.Second, 30*time.Second); len(ds) != 0 {
		t.Errorf("a message in flight was delivered again: %+v", ds)
	}
}

func handBack(t *testing.T, q Queue) {
	send(t, q, "a")
	d := receiveOne(t, q, 30*time.Second)
	if err := q.ChangeVisibility(context.Background(), d, 0); err != nil {
		t.Fatal(err)
	}
	again := receiveOne(t, q, 30*time.Second)
	if again.ID != d.ID || again.Receives != 2 || again.Body != "a" {
		t.Errorf("handed back %+v, delivered again as %+v; want the same message, receive 2", d, again)
	}
	if err := q.Delete(context.Background(), again); err != nil {
		t.Errorf("delete with the latest receipt: %v", err)
	}
}

func visibilityTimeoutRedelivers(t *testing.T, q Queue) {
	send(t, q, "a")
	d := receiveOne(t, q, time.Second)
	again := receiveOne(t, q, 30*time.Second) // after the 1 s timeout
	if again.ID != d.ID || again.Receives != 2 {
		t.Errorf("first %+v, then %+v; want the same message with receive count 2", d, again)
	}
}

func extendVisibility(t *testing.T, q Queue) {
	send(t, q, "a")
	d := receiveOne(t, q, time.Second)
	if err := q.ChangeVisibility(context.Background(), d, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	// Past the first timeout the extended message stays away.
	if ds := receive(t, q, 10, 2*time.Second, 30*time.Second); len(ds) != 0 {
		t.Errorf("extended message delivered after its first timeout: %+v", ds)
	}
	if err := q.Delete(context.Background(), d); err != nil {
		t.Errorf("delete after extending: %v", err)
	}
}

func receiveAtMostMax(t *testing.T, q Queue) {
	for i := 0; i < 5; i++ {
		send(t, q, fmt.Sprint(i))
	}
	seen := map[string]bool{}
	for len(seen) < 5 {
		ds := receive(t, q, 2, time.Second, 30*time.Second)
		if len(ds) == 0 {
			t.Fatalf("only %d of 5 messages delivered", len(seen))
		}
		if len(ds) > 2 {
			t.Fatalf("asked for 2, got %d", len(ds))
		}
		for _, d := range ds {
			if seen[d.ID] {
				t.Fatalf("message %s delivered twice while in flight", d.ID)
			}
			seen[d.ID] = true
		}
	}
}

func longPollWakes(t *testing.T, q Queue) {
	got := make(chan []queue.Delivery, 1)
	go func() {
		ds, _ := q.Receive(context.Background(), 1, 10*time.Second, 30*time.Second)
		got <- ds
	}()
	time.Sleep(200 * time.Millisecond) // the poll is waiting (or not yet: either way it must see the message)
	send(t, q, "late")
	select {
	case ds := <-got:
		if len(ds) != 1 || ds[0].Body != "late" {
			t.Errorf("long poll returned %+v", ds)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("long poll did not return")
	}
}

func emptyPollEnds(t *testing.T, q Queue) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	ds, err := q.Receive(ctx, 10, time.Second, 30*time.Second)
	if err != nil || len(ds) != 0 || ctx.Err() != nil {
		t.Errorf("empty poll: %v, %+v, ctx %v; want nothing, within its wait", err, ds, ctx.Err())
	}
}
