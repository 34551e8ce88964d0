package jetstream

import (
	"container/list"
	"context"
	"sync"

	"github.com/knooppunt/knooppunt/store"
)

// Bounds of the read-ahead: the bytes it holds on a node, and the largest
// message it reads (larger ones are read when fetched).
const (
	readAheadBytes = 16 << 20
	readAheadMax   = 256 << 10
)

// readAhead holds the stored bytes (sealed, with a keyring) of messages
// this node has just leased, read with one request per listing, until a
// Get of their recipient takes them, they are confirmed, their lease ends
// or room runs out. A poller lists and then fetches each message listed:
// those fetches then cost no request of their own. The bytes of a message
// never change, and Get checks them against the size and digest of its
// mailbox entry as it does bytes read from the stream.
type readAhead struct {
	mu    sync.Mutex
	byID  map[store.ID]*list.Element
	order list.List // of *ahead, in the order added: their leases end in that order
	bytes int
}

// ahead is one message read ahead.
type ahead struct {
	id    store.ID
	party string
	data  []byte
	size  int64
	sum   []byte
	until int64 // the lease's end, UnixNano
}

// aheadable reports whether List reads e's bytes ahead: one chunk, not
// too large, and an entry that copies the record's digest.
func aheadable(e *entryRec) bool {
	return e.SHA256 != nil && e.Size <= readAheadMax && e.Size+sealOverhead <= chunkSize
}

// readAheadOf reads the bytes of the entries of party's mailbox that List
// is leasing until until, for readAhead.add. A failed read returns none:
// the Gets read the bytes themselves.
func (s *Store) readAheadOf(ctx context.Context, party string, es []mailboxEntry, until int64) []*ahead {
	var subjects []string
	var want []*ahead
	for _, e := range es {
		if aheadable(&e.rec) {
			subjects = append(subjects, s.sub.body(e.id, 0))
			want = append(want, &ahead{id: e.id, party: party, size: e.rec.Size, sum: e.rec.SHA256, until: until})
		}
	}
	if len(subjects) == 0 {
		return nil
	}
	got, err := s.lastOf(ctx, subjects)
	if err != nil {
		return nil
	}
	out := want[:0]
	for i, a := range want {
		if m, ok := got[subjects[i]]; ok {
			a.data = m.data
			out = append(out, a)
		}
	}
	return out
}

// add holds as, once what expired by now is dropped, as far as room
// allows.
func (r *readAhead) add(now int64, as []*ahead) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byID == nil {
		r.byID = map[store.ID]*list.Element{}
	}
	for el := r.order.Front(); el != nil && el.Value.(*ahead).until <= now; el = r.order.Front() {
		r.remove(el)
	}
	for _, a := range as {
		if r.bytes+len(a.data) > readAheadBytes {
			return
		}
		if el, ok := r.byID[a.id]; ok {
			r.remove(el)
		}
		r.byID[a.id] = r.order.PushBack(a)
		r.bytes += len(a.data)
	}
}

// take returns and forgets the bytes read ahead of message id, if party
// is its recipient and its lease has not ended by now.
func (r *readAhead) take(party string, id store.ID, now int64) (*ahead, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	el, ok := r.byID[id]
	if !ok {
		return nil, false
	}
	a := el.Value.(*ahead)
	if a.party != party {
		return nil, false
	}
	r.remove(el)
	return a, a.until > now
}

// drop forgets message id: it was confirmed.
func (r *readAhead) drop(id store.ID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if el, ok := r.byID[id]; ok {
		r.remove(el)
	}
}

func (r *readAhead) remove(el *list.Element) {
	a := r.order.Remove(el).(*ahead)
	delete(r.byID, a.id)
	r.bytes -= len(a.data)
}
