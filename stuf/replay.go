package stuf

import (
	"container/heap"
	"crypto/sha256"
	"sync"
	"time"
)

// DefaultReplayEntries bounds a ReplayCache made with NewReplayCache(0).
// Each accepted request takes one entry for its signature and one for its
// wsa:MessageID, about 100 bytes each, so the default (262,144 entries,
// some 25 MB) holds every request of more than 300 a second over the
// replay window of six minutes.
const DefaultReplayEntries = 1 << 18

// ReplayCache remembers the requests a node accepted while their Timestamp
// is still valid, so that the same request sent again within that window
// is refused (KP204) instead of processed twice. It keeps, per signing
// certificate, a hash of each request's signature (its canonical
// SignedInfo, which a re-encoded SignatureValue does not change) and of
// each wsa:MessageID, until the moment the Timestamp check would refuse the
// request anyway; after that the Timestamp does the refusing.
//
// It lives in memory and belongs to one node: on a cluster a copy sent to
// another node within the window is not recognised, and a restart forgets
// everything remembered. It is bounded: when full, the entries closest to
// their end are forgotten first, those whose Timestamp will soonest refuse
// a copy by itself. Only requests whose signature verified are remembered,
// so only a registered party can fill it. A ReplayCache is safe for
// concurrent use.
type ReplayCache struct {
	max   int
	mu    sync.Mutex
	until map[replayKey]int64 // the end of each entry, in Unix nanoseconds
	queue replayQueue         // the same entries, soonest end first
}

// NewReplayCache returns an empty ReplayCache of at most max entries
// (DefaultReplayEntries when max is 0 or less).
func NewReplayCache(max int) *ReplayCache {
	if max <= 0 {
		max = DefaultReplayEntries
	}
	return &ReplayCache{max: max, until: map[replayKey]int64{}}
}

// replayKey identifies a remembered signature or MessageID: a hash of the
// certificate's hash, the kind and the value, so entries are small
// whatever a sender puts in its MessageID.
type replayKey [sha256.Size]byte

func newReplayKey(scope [sha256.Size]byte, kind byte, value []byte) replayKey {
	h := sha256.New()
	h.Write(scope[:])
	h.Write([]byte{kind})
	h.Write(value)
	var k replayKey
	h.Sum(k[:0])
	return k
}

// remember records keys until the moment until, unless one of them is
// remembered already; it reports whether none was. Entries whose end is
// not after now are forgotten first.
func (c *ReplayCache) remember(keys []replayKey, until, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.expire(now.UnixNano())
	for _, k := range keys {
		if _, seen := c.until[k]; seen {
			return false
		}
	}
	end := until.UnixNano()
	for _, k := range keys {
		if _, seen := c.until[k]; seen {
			continue // the same MessageID twice in one request
		}
		for len(c.until) >= c.max {
			c.evict()
		}
		c.until[k] = end
		heap.Push(&c.queue, replayEntry{end: end, key: k})
	}
	return true
}

// Len returns the number of entries remembered now.
func (c *ReplayCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.until)
}

// expire forgets the entries whose end is not after now.
func (c *ReplayCache) expire(now int64) {
	for len(c.queue) > 0 && c.queue[0].end <= now {
		c.evict()
	}
}

// evict forgets the entry with the soonest end.
func (c *ReplayCache) evict() {
	e := heap.Pop(&c.queue).(replayEntry)
	delete(c.until, e.key)
}

type replayEntry struct {
	end int64
	key replayKey
}

// replayQueue is a min-heap of entries by end.
type replayQueue []replayEntry

func (q replayQueue) Len() int           { return len(q) }
func (q replayQueue) Less(i, j int) bool { return q[i].end < q[j].end }
func (q replayQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *replayQueue) Push(x any)        { *q = append(*q, x.(replayEntry)) }
func (q *replayQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}
