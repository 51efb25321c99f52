package queue_test

import (
	"testing"

	"github.com/docingest/docingest/queue"
	"github.com/docingest/docingest/queue/queuetest"
)

func TestMemoryConformance(t *testing.T) {
	t.Parallel()
	queuetest.Run(t, func(*testing.T) queuetest.Queue { return queue.NewMemory() })
}
