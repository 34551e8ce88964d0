package jetstream

import (
	"sync"

	"github.com/knooppunt/knooppunt/store"
)

// maxOwn bounds the ids ownPuts remembers: a follower that keeps up
// passes them long before, and without one the oldest are forgotten.
const maxOwn = 8192

// ownPuts remembers the messages this client stored lately. Follow hands
// them on without their bytes (Change.Body nil, as the feed's contract
// allows): the node that stored them had them at hand, and its products
// keep the tree validation built of each, so reading the bytes back from
// the stream is work for nothing; a follower that needs them after all
// reads them with Get. Messages other nodes stored come with their
// bytes, read a batch at a time.
type ownPuts struct {
	mu   sync.Mutex
	ids  map[store.ID]struct{}
	ring [maxOwn]store.ID // in the order added; next is the oldest
	next int
}

// add remembers id, forgetting the oldest when full.
func (o *ownPuts) add(id store.ID) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.ids == nil {
		o.ids = make(map[store.ID]struct{}, maxOwn)
	}
	if old := o.ring[o.next]; !old.IsZero() {
		delete(o.ids, old)
	}
	o.ring[o.next] = id
	o.next = (o.next + 1) % maxOwn
	o.ids[id] = struct{}{}
}

// take reports whether id is one of this client's and forgets it.
func (o *ownPuts) take(id store.ID) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, ok := o.ids[id]; !ok {
		return false
	}
	delete(o.ids, id)
	return true
}
