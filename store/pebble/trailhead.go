package pebble

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/knooppunt/knooppunt/store"
)

// The audit trail follows the feed: a message's Reception rides in the
// change of its own commit, and the trail's follower keeps where it stands
// (store.TrailHead) under keyTrailHead. Earlier versions kept receptions
// in an outbox table of their own ('o'); what such a version left there
// when it stopped uncleanly is turned into OpReceived changes at Open
// (convertOutbox), so the follower records it.

// trailHeadForm starts the value under keyTrailHead since the head carries
// the feed position: seq(8) feed(8) hash. The earlier form, seq(8) hash,
// starts with the high byte of a sequence number, which is 0.
const trailHeadForm = 2

// SaveTrailHead keeps where the audit trail stands, in one synced commit.
func (p *Store) SaveTrailHead(ctx context.Context, head store.TrailHead) error {
	v := make([]byte, 0, 17+len(head.Hash))
	v = append(v, trailHeadForm)
	v = binary.BigEndian.AppendUint64(v, head.Seq)
	v = binary.BigEndian.AppendUint64(v, head.Feed)
	v = append(v, head.Hash...)
	err := p.submit(ctx.Done(), ctx.Err, func(w *writer) error {
		w.set(keyTrailHead, v)
		return nil
	})
	if err != nil {
		return fmt.Errorf("keeping the audit trail's head: %w", err)
	}
	return nil
}

// TrailHead returns the head SaveTrailHead kept last; false when none. A
// head of the earlier form has no feed position (Feed 0: the follower
// starts at the oldest change kept).
func (p *Store) TrailHead(ctx context.Context) (store.TrailHead, bool, error) {
	if err := p.enter(); err != nil {
		return store.TrailHead{}, false, err
	}
	defer p.leave()
	v, err := p.get(keyTrailHead)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.TrailHead{}, false, nil
	case err != nil:
		return store.TrailHead{}, false, fmt.Errorf("reading the audit trail's head: %w", err)
	case len(v) >= 17 && v[0] == trailHeadForm:
		return store.TrailHead{Seq: binary.BigEndian.Uint64(v[1:]), Feed: binary.BigEndian.Uint64(v[9:]), Hash: string(v[17:])}, true, nil
	case len(v) >= 8 && v[0] == 0:
		return store.TrailHead{Seq: binary.BigEndian.Uint64(v), Hash: string(v[8:])}, true, nil
	}
	return store.TrailHead{}, false, fmt.Errorf("reading the audit trail's head: %d bytes: %w", len(v), store.ErrCorrupt)
}

// convertOutbox turns the records an earlier version left in its outbox
// into OpReceived changes at the feed's end, and removes them, in one
// synced batch. It runs in Open, before the committer starts.
func (p *Store) convertOutbox() error {
	it, err := p.db.NewIter(&pebble.IterOptions{LowerBound: []byte{tagOutbox}, UpperBound: []byte{tagOutbox + 1}})
	if err != nil {
		return fmt.Errorf("reading the outbox: %w", err)
	}
	defer it.Close()
	b := p.db.NewBatch()
	defer b.Close()
	n := 0
	for ok := it.First(); ok; ok = it.Next() {
		v := it.Value()
		if len(v) < len(store.ID{}) {
			return fmt.Errorf("reading the outbox: record of %d bytes: %w", len(v), store.ErrCorrupt)
		}
		var rec struct {
			Time      time.Time `json:"time"`
			Principal string    `json:"principal"`
			Remote    string    `json:"remote"`
		}
		if err := json.Unmarshal(v[len(store.ID{}):], &rec); err != nil {
			return fmt.Errorf("reading the outbox: %v: %w", err, store.ErrCorrupt)
		}
		c := store.Change{Op: store.OpReceived, ID: store.ID(v[:len(store.ID{})]),
			Reception: &store.Reception{At: rec.Time, Principal: rec.Principal, Remote: rec.Remote}}
		p.state.feedSeq++
		c.Seq = p.state.feedSeq
		_ = b.Set(feedKey(c.Seq), encodeChange(c, p.cfg.Now().UTC()), nil)
		n++
	}
	if err := it.Error(); err != nil {
		return fmt.Errorf("reading the outbox: %w", err)
	}
	if n == 0 {
		return nil
	}
	_ = b.Set(keyFeedSeq, binary.BigEndian.AppendUint64(nil, p.state.feedSeq), nil)
	_ = b.DeleteRange([]byte{tagOutbox}, []byte{tagOutbox + 1}, nil)
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("moving the outbox to the feed: %w", err)
	}
	p.feed.committed(p.state.feedSeq)
	p.log.Info().Int("records", n).Msg("moved the audit records an earlier version left in its outbox to the feed")
	return nil
}
