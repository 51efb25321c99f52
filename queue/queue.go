// Package queue holds the plain types of a message queue as the worker sees it (a
// delivery: body, receive count, an opaque receipt) and Memory, an in-memory queue with
// SQS's semantics (visibility timeouts, long polls, receive counts). The SQS adapter is
// queue/sqsqueue; queue/queuetest is the conformance suite both pass.
package queue

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"
)

// Delivery is one message as received: it stays invisible to other receivers until its
// visibility timeout passes, it is deleted, or its visibility is changed.
type Delivery struct {
	// ID names the message; it is the same on every delivery of it.
	ID string
	// Body is the message's text.
	Body string
	// Receives counts the deliveries of the message, this one included (1 the first time).
	Receives int
	// Receipt is what Delete and ChangeVisibility take: it names this delivery.
	Receipt string
}

// ErrUnknownReceipt is returned by Memory for a receipt no delivery has (any more).
var ErrUnknownReceipt = errors.New("receipt handle is not valid")

// Memory is a queue in memory with SQS's semantics: a received message is invisible for
// its visibility timeout, then delivered again with a higher receive count, until it is
// deleted; ChangeVisibility(0) makes it visible at once. It is safe for concurrent use.
type Memory struct {
	mu      sync.Mutex
	msgs    []*memMsg
	nextID  int
	changed chan struct{} // closed and replaced whenever a message may have become visible
	now     func() time.Time
}

type memMsg struct {
	id, body, receipt string
	receives          int
	invisibleUntil    time.Time
	deleted           bool
}

// NewMemory returns an empty queue.
func NewMemory() *Memory {
	return &Memory{changed: make(chan struct{}), now: time.Now}
}

func (q *Memory) signal() {
	close(q.changed)
	q.changed = make(chan struct{})
}

// Send adds a message and returns its ID.
func (q *Memory) Send(_ context.Context, body string) (string, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.nextID++
	id := "m" + strconv.Itoa(q.nextID)
	q.msgs = append(q.msgs, &memMsg{id: id, body: body})
	q.signal()
	return id, nil
}

// Receive returns up to max visible messages, making each invisible for visibility. With
// none visible it waits up to wait for one (a long poll), or until ctx ends.
func (q *Memory) Receive(ctx context.Context, max int, wait, visibility time.Duration) ([]Delivery, error) {
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		q.mu.Lock()
		now := q.now()
		var out []Delivery
		var next time.Time // when the next invisible message reappears
		for _, m := range q.msgs {
			if m.deleted {
				continue
			}
			if now.Before(m.invisibleUntil) {
				if next.IsZero() || m.invisibleUntil.Before(next) {
					next = m.invisibleUntil
				}
				continue
			}
			if len(out) == max {
				break
			}
			m.receives++
			m.receipt = m.id + "#" + strconv.Itoa(m.receives)
			m.invisibleUntil = now.Add(visibility)
			out = append(out, Delivery{ID: m.id, Body: m.body, Receives: m.receives, Receipt: m.receipt})
		}
		changed := q.changed
		q.mu.Unlock()
		if len(out) > 0 {
			return out, nil
		}
		if done, err := waitChange(ctx, changed, next.Sub(now), !next.IsZero(), deadline.C); done {
			return nil, err
		}
	}
}

// waitChange waits for a change, for the next message to reappear (after in, when
// reappears), or for the poll's deadline or ctx; done reports the latter two.
func waitChange(ctx context.Context, changed <-chan struct{}, in time.Duration, reappears bool, deadline <-chan time.Time) (done bool, err error) {
	var reappear <-chan time.Time
	if reappears {
		t := time.NewTimer(in)
		defer t.Stop()
		reappear = t.C
	}
	select {
	case <-changed:
	case <-reappear:
	case <-deadline:
		return true, nil
	case <-ctx.Done():
		return true, ctx.Err()
	}
	return false, nil
}

// find returns the message whose latest delivery d is. A receipt of an earlier delivery
// of a message received again is not valid any more.
func (q *Memory) find(d Delivery) (*memMsg, error) {
	for _, m := range q.msgs {
		if m.id == d.ID && m.receipt == d.Receipt && !m.deleted {
			return m, nil
		}
	}
	return nil, ErrUnknownReceipt
}

// Delete removes the message of delivery d.
func (q *Memory) Delete(_ context.Context, d Delivery) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	m, err := q.find(d)
	if err != nil {
		return err
	}
	m.deleted = true
	return nil
}

// ChangeVisibility makes the message of delivery d invisible for visibility from now (0:
// visible at once).
func (q *Memory) ChangeVisibility(_ context.Context, d Delivery, visibility time.Duration) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	m, err := q.find(d)
	if err != nil {
		return err
	}
	m.invisibleUntil = q.now().Add(visibility)
	if visibility == 0 {
		q.signal()
	}
	return nil
}

// Depth counts the messages not deleted: visible ones and those in flight (received,
// still invisible).
func (q *Memory) Depth(context.Context) (visible, inFlight int, err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.now()
	for _, m := range q.msgs {
		switch {
		case m.deleted:
		case now.Before(m.invisibleUntil):
			inFlight++
		default:
			visible++
		}
	}
	return visible, inFlight, nil
}
