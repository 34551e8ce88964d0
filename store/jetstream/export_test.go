package jetstream

import (
	"context"
	"errors"
	"time"

	"github.com/knooppunt/knooppunt/store"
)

// IndexUsable tells whether the mailbox index answers listings now without
// checking them against the stream.
func (s *Store) IndexUsable() bool {
	s.indexMu.Lock()
	defer s.indexMu.Unlock()
	return s.index != nil && !s.index.suspect
}

// WaitIndexed waits until the mailbox index answers listings, so that a
// test exercises it rather than the scan it falls back on.
func (s *Store) WaitIndexed(ctx context.Context) error {
	for !s.IndexUsable() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return nil
}

// InjectGhost files an entry for id in party's mailbox that the stream
// does not hold, as an index that missed a tombstone would, and marks the
// index suspect, as missing that much of the stream does.
func (s *Store) InjectGhost(ctx context.Context, party string, id store.ID) error {
	s.indexMu.Lock()
	defer s.indexMu.Unlock()
	if err := s.catchUp(ctx, s.index); err != nil {
		return err
	}
	s.index.boxes[partyToken(party)].put(id, indexed{seq: 1, rec: entryRec{Soort: "WMO301", Sender: "0363"}})
	s.index.suspect = true
	return nil
}

// EntrySeqs returns the sequence of party's entry of message id as the
// mailbox index has it (0: none, or being leased) and as the stream
// leader has it (0: none).
func (s *Store) EntrySeqs(ctx context.Context, party string, id store.ID) (indexed, stream uint64, err error) {
	m, found, err := s.lastLeader(ctx, s.sub.entry(party, id))
	indexed, _ = s.indexedSeq(party, id)
	if err != nil || !found {
		return indexed, 0, err
	}
	return indexed, m.seq, nil
}

// AddEvent writes a history event of message id as stores before
// entryRec.Listed wrote each listing: its own event.
func (s *Store) AddEvent(ctx context.Context, id store.ID, st store.State) error {
	return s.submit(ctx, func(b *builder) { b.event(id, st, store.ID{}) })
}

// PutTogether stores msgs as new messages in one atomic batch, as the
// committer packs concurrent Puts that did not read their dedup keys
// first, and returns each one's outcome (ErrConflict: its key was taken).
// Nothing else may write meanwhile.
func (s *Store) PutTogether(msgs ...*store.Message) []error {
	g := &group{state: map[string]bool{}}
	for _, m := range msgs {
		p := s.prepare(m)
		o := &op{done: make(chan struct{}), build: func(b *builder) {
			id := b.newID()
			b.message(p, id, id, store.ID{}, corrPlan{}, true)
		}}
		if !s.add(g, o) {
			panic("messages that do not fit one batch")
		}
	}
	s.commit(g)
	errs := make([]error, len(g.ops))
	for i, o := range g.ops {
		if errs[i] = o.err; errors.Is(o.err, errConflict) {
			errs[i] = ErrConflict
		}
	}
	return errs
}

// ErrConflict is errConflict, for tests.
var ErrConflict = errConflict
