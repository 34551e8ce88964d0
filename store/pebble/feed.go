package pebble

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/knooppunt/knooppunt/store"
)

// Changes returns up to limit changes after position after, oldest first.
func (p *Store) Changes(ctx context.Context, after uint64, limit int) ([]store.Change, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	if limit <= 0 {
		return nil, fmt.Errorf("reading the feed: limit %d: %w", limit, store.ErrInvalid)
	}
	it, err := p.db.NewIter(&pebble.IterOptions{LowerBound: feedKey(after + 1), UpperBound: feedUpper})
	if err != nil {
		return nil, fmt.Errorf("reading the feed: %w", err)
	}
	defer it.Close()
	var out []store.Change
	for ok := it.First(); ok && len(out) < limit; ok = it.Next() {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("reading the feed: %w", err)
		}
		c, err := decodeChange(it.Key(), it.Value())
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("reading the feed: %w", err)
	}
	return out, nil
}

// LatestChanges is Changes: the feed is local, and never behind a commit
// (audit.Receptions).
func (p *Store) LatestChanges(ctx context.Context, after uint64, limit int) ([]store.Change, error) {
	return p.Changes(ctx, after, limit)
}

// feedPage is how many changes Follow reads at a time.
const feedPage = 512

// feedGather is how long Follow, woken by a commit, lets further commits
// gather before it reads: one read per few commits instead of one per
// commit keeps a follower from competing with the committer for the CPUs
// under load, at the cost of a few milliseconds of lag.
const feedGather = 10 * time.Millisecond

// Follow calls fn for every change after position after; see Feed.
func (p *Store) Follow(ctx context.Context, after uint64, fn func(store.Change) error) error {
	pos := after
	for {
		// Take the signal before reading, so a commit between the read
		// and the wait is not missed.
		next := p.feed.next()
		page, err := p.Changes(ctx, pos, feedPage)
		if err != nil {
			return err
		}
		for _, c := range page {
			if err := fn(c); err != nil {
				return err
			}
			pos = c.Seq
		}
		if len(page) == feedPage {
			continue
		}
		select {
		case <-next:
		case <-ctx.Done():
			return ctx.Err()
		case <-p.quit:
			return store.ErrClosed
		}
		gather := time.NewTimer(feedGather)
		select {
		case <-gather.C:
		case <-ctx.Done():
			gather.Stop()
			return ctx.Err()
		case <-p.quit:
			gather.Stop()
			return store.ErrClosed
		}
	}
}

// Head is the position of the newest change committed; see Feed.
func (p *Store) Head(ctx context.Context) (uint64, error) {
	if err := p.enter(); err != nil {
		return 0, err
	}
	defer p.leave()
	return p.feed.head(), nil
}

// TrimFeed removes the changes up to and including position upTo; see
// Feed.
func (p *Store) TrimFeed(ctx context.Context, upTo uint64) (int64, error) {
	err := p.submit(ctx.Done(), ctx.Err, func(w *writer) error {
		return w.b.DeleteRange([]byte{tagFeed}, feedKey(upTo+1), nil)
	})
	if err != nil {
		return 0, fmt.Errorf("trimming the feed: %w", err)
	}
	p.feed.trimmed(upTo)
	return p.feed.length(), nil
}

// feedState is the feed's position as readers see it: head moves only
// after a commit is synced, and next is closed then, waking followers.
type feedState struct {
	mu    sync.Mutex
	last  uint64 // newest committed change
	first uint64 // changes at or below were trimmed
	wake  chan struct{}
}

func (f *feedState) next() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.wake == nil {
		f.wake = make(chan struct{})
	}
	return f.wake
}

func (f *feedState) head() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last
}

func (f *feedState) length() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return int64(f.last - min(f.first, f.last))
}

func (f *feedState) trimmed(upTo uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.first = max(f.first, min(upTo, f.last))
}

// committed publishes changes up to last and wakes the followers.
func (f *feedState) committed(last uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.last = last
	if f.wake != nil {
		close(f.wake)
		f.wake = nil
	}
}

// change appends c to the feed in the batch being built, with the next
// position.
func (w *writer) change(c store.Change) {
	w.p.state.feedSeq++
	c.Seq = w.p.state.feedSeq
	w.feedChanged = true
	w.set(feedKey(c.Seq), encodeChange(c, w.now))
}

// feedUpper bounds every scan of the feed. The reference tables (refs.go)
// share its tag, with a letter as their kind byte; a feed key's first
// byte after the tag is the top byte of its sequence number, zero below
// 2^56 changes, so the feed sorts before them and ends here.
var feedUpper = []byte{tagFeed, 0x01}

func feedKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{tagFeed}, seq)
}

// A change record: op(1) at(8) id(16) received(8) answers(16) size(8)
// sha256(32), then soort, sender and recipient, each ended by NUL.
const changeFixed = 1 + 8 + 16 + 8 + 16 + 8 + 32

func encodeChange(c store.Change, at time.Time) []byte {
	v := make([]byte, 0, changeFixed+len(c.Soort)+len(c.Sender)+len(c.Recipient)+3)
	v = append(v, byte(c.Op))
	v = binary.BigEndian.AppendUint64(v, uint64(at.UnixNano()))
	v = append(v, c.ID[:]...)
	var received uint64
	if !c.Received.IsZero() {
		received = uint64(c.Received.UnixNano())
	}
	v = binary.BigEndian.AppendUint64(v, received)
	v = append(v, c.Answers[:]...)
	v = binary.BigEndian.AppendUint64(v, uint64(c.Size))
	v = append(v, c.SHA256[:]...)
	for _, s := range []string{c.Soort, c.Sender, c.Recipient} {
		v = append(append(v, s...), 0)
	}
	// The reception, when there is one, follows: at(8) principal NUL
	// remote NUL. A change without it ends after the recipient.
	if r := c.Reception; r != nil {
		v = binary.BigEndian.AppendUint64(v, uint64(r.At.UnixNano()))
		v = append(append(v, r.Principal...), 0)
		v = append(append(v, r.Remote...), 0)
	}
	return v
}

func decodeChange(k, v []byte) (store.Change, error) {
	var c store.Change
	if len(k) != 9 || len(v) < changeFixed {
		return c, fmt.Errorf("reading the feed: record of %d bytes under a key of %d: %w", len(v), len(k), store.ErrCorrupt)
	}
	c.Seq = binary.BigEndian.Uint64(k[1:])
	c.Op = store.Op(v[0])
	c.At = time.Unix(0, int64(binary.BigEndian.Uint64(v[1:]))).UTC()
	copy(c.ID[:], v[9:25])
	if r := binary.BigEndian.Uint64(v[25:]); r != 0 {
		c.Received = time.Unix(0, int64(r)).UTC()
	}
	copy(c.Answers[:], v[33:49])
	c.Size = int64(binary.BigEndian.Uint64(v[49:]))
	copy(c.SHA256[:], v[57:89])
	rest := v[changeFixed:]
	for _, s := range []*string{&c.Soort, &c.Sender, &c.Recipient} {
		i := 0
		for i < len(rest) && rest[i] != 0 {
			i++
		}
		if i == len(rest) {
			return c, fmt.Errorf("reading the feed: change %d is cut short: %w", c.Seq, store.ErrCorrupt)
		}
		*s = string(rest[:i])
		rest = rest[i+1:]
	}
	if len(rest) == 0 {
		return c, nil
	}
	if len(rest) < 10 {
		return c, fmt.Errorf("reading the feed: change %d has a reception cut short: %w", c.Seq, store.ErrCorrupt)
	}
	r := &store.Reception{At: time.Unix(0, int64(binary.BigEndian.Uint64(rest))).UTC()}
	rest = rest[8:]
	for _, s := range []*string{&r.Principal, &r.Remote} {
		i := bytes.IndexByte(rest, 0)
		if i < 0 {
			return c, fmt.Errorf("reading the feed: change %d has a reception cut short: %w", c.Seq, store.ErrCorrupt)
		}
		*s = string(rest[:i])
		rest = rest[i+1:]
	}
	if len(rest) != 0 {
		return c, fmt.Errorf("reading the feed: change %d has %d bytes too many: %w", c.Seq, len(rest), store.ErrCorrupt)
	}
	c.Reception = r
	return c, nil
}
