package zmtp

import (
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultBudget is a Budget's size when Options.Budget is nil: 64 MiB.
const DefaultBudget = 64 << 20

// Budget bounds the bytes of messages being received, and of received
// messages not yet taken by Recv, over every connection charged to it.
// Share one among a kernel's sockets to bound them together.
type Budget struct {
	mu      sync.Mutex
	limit   int
	used    int
	reading map[*conn]int // bytes of each connection's message in progress
}

// NewBudget returns a budget of limit bytes (DefaultBudget when ≤ 0).
func NewBudget(limit int) *Budget {
	if limit <= 0 {
		limit = DefaultBudget
	}
	return &Budget{limit: limit, reading: map[*conn]int{}}
}

// Used returns the bytes charged now.
func (b *Budget) Used() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// charge adds n bytes to c's message in progress. When that would exceed
// the limit, the connection with the largest message in progress is
// dropped until it fits; if that is c, c gets ErrEvicted.
func (b *Budget) charge(c *conn, n int) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for b.used+n > b.limit {
		var victim *conn
		for v, held := range b.reading {
			if victim == nil || held > b.reading[victim] {
				victim = v
			}
		}
		if victim == nil || b.reading[victim] <= b.reading[c] {
			victim = c
		}
		b.used -= b.reading[victim]
		delete(b.reading, victim)
		reclaim()
		if victim == c {
			c.evicted = true
			return ErrEvicted
		}
		victim.evict()
	}
	b.reading[c] += n
	b.used += n
	return nil
}

// release gives back n bytes of c's message in progress (a buffer replaced
// by a larger one).
func (b *Budget) release(c *conn, n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if held, ok := b.reading[c]; ok {
		n = min(n, held)
		b.reading[c] -= n
		b.used -= n
	}
}

// settle ends c's message in progress: its bytes stay charged, no longer
// evictable, until free is called with the returned amount. A dropped
// connection settles nothing.
func (b *Budget) settle(c *conn) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	held, ok := b.reading[c]
	if !ok {
		return 0
	}
	delete(b.reading, c)
	return held
}

// drop forgets c's message in progress (its connection ended).
func (b *Budget) drop(c *conn) {
	b.free(b.settle(c))
}

// free gives back n settled bytes.
func (b *Budget) free(n int) {
	if n == 0 {
		return
	}
	b.mu.Lock()
	b.used -= n
	b.mu.Unlock()
}

// lastReclaim is when reclaim last ran, in Unix nanoseconds.
var lastReclaim atomic.Int64

// reclaim returns a dropped connection's buffers to the operating system
// soon, at most once a second: they are garbage at once, but the garbage
// collector would otherwise let the heap grow to twice the live size before
// collecting them, so a peer could make the process hold the budget several
// times over.
func reclaim() {
	now := time.Now().UnixNano()
	last := lastReclaim.Load()
	if now-last < int64(time.Second) || !lastReclaim.CompareAndSwap(last, now) {
		return
	}
	go func() {
		// Let the dropped connection's reader unwind first.
		time.Sleep(10 * time.Millisecond)
		debug.FreeOSMemory()
	}()
}
