package jetstream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/knooppunt/knooppunt/store"
)

// The stream keeps each mailbox entry as the last message of its subject,
// in the order entries were last written: a lease rewrites an entry at the
// end, so a scan in stream order neither meets the oldest first nor ends
// in time independent of the mailbox's depth. mailboxIndex is this node's
// view of every mailbox instead, in id (arrival) order, kept current from
// the stream: a listing reads the stream's changes since the last one and
// then the first entries of the mailbox.
//
// Confirmed entries leave a tombstone that the servers remove after
// tombstoneTTL. The index is caught up at least every indexInterval. One
// that went longer than indexFresh (half that life) without, through an
// outage, may keep an entry whose tombstone it missed: it is suspect, and
// what it answers is checked against the stream entry by entry until a
// new one, built in the background, replaces it.
type mailboxIndex struct {
	pos   uint64    // the stream sequence of the last change applied
	fresh time.Time // when it was last caught up
	// complete is when the last catch-up that the stream leader confirmed
	// complete began: the index holds every change stored before then.
	complete time.Time
	suspect  bool // it went longer than indexFresh without a catch-up
	boxes    map[string]*box
}

const (
	indexInterval = 5 * time.Second
	indexFresh    = 15 * time.Second
	// leaderCheckWait bounds a question to the stream leader whether a
	// replica's view is complete (askLeader); the leader answers in
	// milliseconds, and a listing holds the index's lock meanwhile.
	leaderCheckWait = time.Second
)

// box is one mailbox: its entries by id, and their ids in order. order may
// hold ids no longer in entries (dead), dropped when they grow many.
type box struct {
	entries map[store.ID]indexed
	order   []store.ID
	dead    int
}

// indexed is an entry with the sequence of the message that holds it,
// which a lease's compare-and-set names.
type indexed struct {
	seq uint64
	rec entryRec
	// claim, when not zero, is the List of this node whose lease of the
	// entry is being committed: listings pass the entry by meanwhile.
	claim uint64
}

// askLeader asks the stream leader once, within leaderCheckWait, for the
// message req names (subject names what is read in errors): whether a
// replica's view of subject is complete. During an election no server
// answers at all, and the caller keeps the replica's view.
func (s *Store) askLeader(ctx context.Context, subject string, req msgGet) (stored, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, min(leaderCheckWait, s.cfg.RequestTimeout))
	defer cancel()
	return s.leaderGetOnce(ctx, subject, req)
}

// catchUp applies the stream's mailbox changes since the last one to ix;
// the caller holds s.indexMu, or ix is not yet in use.
func (s *Store) catchUp(ctx context.Context, ix *mailboxIndex) error {
	if time.Since(ix.fresh) > indexFresh {
		ix.suspect = true
	}
	err := s.scan(ctx, s.sub.allMailboxes(), ix.pos+1, func(m stored) (bool, error) {
		if err := ix.apply(m, s.sub.p); err != nil {
			return false, err
		}
		ix.pos = m.seq
		return true, nil
	})
	if err != nil {
		return err
	}
	ix.fresh = time.Now()
	return nil
}

// catchUpAll is catchUp that goes on until ix holds every mailbox change
// the stream leader held when it began, so that a listing on any node
// sees every entry stored before it. The replica that answers catchUp may
// lag: a server that restarted or was cut off serves reads again once it
// is nearly current, and a node's own server answers before the others.
// The leader then names the first change ix lacks; catchUp is asked again
// after each, as the replica is usually catching up meanwhile. While the
// leader cannot answer (during an election, when no server answers at
// all until leaderCheckWait), the replica's view stands: a listing may
// miss what it has not yet got, never more.
//
// A listing that arrived before a confirmed catch-up began needs no
// catch-up of its own (see indexedEntriesLocked): when many arrive at
// once, as consumers start, they wait for the index's lock while one
// catches up, and then share its view instead of asking again in turn.
func (s *Store) catchUpAll(ctx context.Context, ix *mailboxIndex) error {
	began := time.Now()
	filter := s.sub.allMailboxes()
	ask := func(req msgGet) (stored, bool, error) { return s.askLeader(ctx, filter, req) }
	var upTo uint64 // the leader's last change, read once one is missing
	for {
		if err := s.catchUp(ctx, ix); err != nil {
			return err
		}
		m, found, err := ask(msgGet{Seq: ix.pos + 1, NextFor: filter})
		if err == nil && found && upTo == 0 {
			var last stored
			last, _, err = ask(msgGet{LastFor: filter})
			upTo = last.seq
		}
		switch {
		case errors.Is(unavailable(ctx, err), store.ErrUnavailable):
			s.log.Debug().Err(err).Msg("listing from a replica the stream leader could not confirm")
			return nil
		case err != nil:
			return err
		case !found || m.seq > upTo:
			ix.complete = began
			return nil
		}
		if err := ix.apply(m, s.sub.p); err != nil {
			return err
		}
		ix.pos = m.seq
	}
}

// rebuild reads every mailbox entry of the stream into a new index,
// without holding the one in use, which meanwhile answers as suspect (or,
// at start, listings scan the stream); then swaps it in.
func (s *Store) rebuild(ctx context.Context) error {
	started := time.Now()
	ix := &mailboxIndex{boxes: map[string]*box{}}
	err := s.scan(ctx, s.sub.allMailboxes(), 1, func(m stored) (bool, error) {
		if err := ix.apply(m, s.sub.p); err != nil {
			return false, err
		}
		ix.pos = m.seq
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("building the mailbox index: %w", err)
	}
	s.indexMu.Lock()
	defer s.indexMu.Unlock()
	ix.fresh = started // what the scan read is as old as its start
	if err := s.catchUp(ctx, ix); err != nil {
		return fmt.Errorf("building the mailbox index: %w", err)
	}
	s.index = ix
	return nil
}

// apply files one stored mailbox message: an entry, or a tombstone that
// removes one.
func (ix *mailboxIndex) apply(m stored, prefix string) error {
	rest, ok := strings.CutPrefix(m.subject, prefix+".q.")
	dot := strings.LastIndexByte(rest, '.')
	if !ok || dot < 0 {
		return fmt.Errorf("mailbox subject %q: %w", m.subject, store.ErrCorrupt)
	}
	token := rest[:dot]
	id, err := store.ParseID(rest[dot+1:])
	if err != nil {
		return fmt.Errorf("mailbox subject %q: %w", m.subject, store.ErrCorrupt)
	}
	b := ix.boxes[token]
	if len(m.data) == 0 {
		if b != nil {
			b.remove(id)
		}
		return nil
	}
	var e indexed
	if err := decode(m.data, &e.rec, "mailbox entry"); err != nil {
		return err
	}
	e.seq = m.seq
	if b == nil {
		b = &box{entries: map[store.ID]indexed{}}
		ix.boxes[token] = b
	}
	b.put(id, e)
	return nil
}

func (b *box) put(id store.ID, e indexed) {
	if _, ok := b.entries[id]; !ok {
		i, found := slices.BinarySearchFunc(b.order, id, compareIDs)
		switch {
		case found:
			b.dead-- // filed before, removed since
		case i == len(b.order):
			b.order = append(b.order, id) // the usual case: a new message
		default:
			b.order = slices.Insert(b.order, i, id)
		}
	}
	b.entries[id] = e
}

func (b *box) remove(id store.ID) {
	if _, ok := b.entries[id]; !ok {
		return
	}
	delete(b.entries, id)
	b.dead++
	if b.dead > 1024 && b.dead > len(b.order)/2 {
		b.order = slices.DeleteFunc(b.order, func(id store.ID) bool {
			_, ok := b.entries[id]
			return !ok
		})
		b.dead = 0
	}
}

func compareIDs(a, b store.ID) int { return bytes.Compare(a[:], b[:]) }

// first returns, in arrival order, the entries of the mailbox of token
// that keep takes, up to limit of those it counts.
func (ix *mailboxIndex) first(token string, limit int, keep func(*entryRec) (take, count bool)) []mailboxEntry {
	b := ix.boxes[token]
	if b == nil {
		return nil
	}
	var out []mailboxEntry
	n := 0
	for _, id := range b.order {
		e, ok := b.entries[id]
		if !ok || e.claim != 0 {
			continue
		}
		take, count := keep(&e.rec)
		if !take {
			continue
		}
		out = append(out, mailboxEntry{id: id, seq: e.seq, rec: e.rec})
		if count {
			if n++; n == limit {
				break
			}
		}
	}
	return out
}

// indexLoop keeps the index caught up, so that its view never misses a
// tombstone and a listing has few changes to read; it builds the index at
// start and after an outage long enough to have missed one.
func (s *Store) indexLoop() {
	defer s.wg.Done()
	ctx, cancel := s.untilClose()
	defer cancel()
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-s.quit:
			return
		case <-t.C:
		}
		s.indexMu.Lock()
		rebuild := s.index == nil || s.index.suspect
		var err error
		if !rebuild {
			err = s.catchUp(ctx, s.index)
		}
		s.indexMu.Unlock()
		if rebuild {
			err = s.rebuild(ctx)
		}
		if err != nil {
			s.log.Debug().Err(err).Msg("keeping the mailbox index") // listings scan the stream meanwhile
		}
		t.Reset(indexInterval)
	}
}

// indexedEntries is mailboxEntries from the index; ok is false when
// there is none yet and the caller must scan. A suspect index's answer
// is checked against the stream, and entries gone from it are dropped.
func (s *Store) indexedEntries(ctx context.Context, party string, limit int, keep func(*entryRec) (take, count bool)) (_ []mailboxEntry, ok bool, err error) {
	since := time.Now()
	s.indexMu.Lock()
	defer s.indexMu.Unlock()
	return s.indexedEntriesLocked(ctx, since, party, limit, keep)
}

// claimIndexed is indexedEntries for List: the entries it returns are
// claimed (indexed.claim) until settleClaim records how their leases
// went, so that this node's other listings of the mailbox pass them by
// while the lease is committed instead of waiting for it. claim is 0 when
// none were returned.
func (s *Store) claimIndexed(ctx context.Context, party string, limit int, keep func(*entryRec) (take, count bool)) (_ []mailboxEntry, claim uint64, ok bool, err error) {
	since := time.Now()
	s.indexMu.Lock()
	defer s.indexMu.Unlock()
	es, ok, err := s.indexedEntriesLocked(ctx, since, party, limit, keep)
	if !ok || err != nil || len(es) == 0 {
		return es, 0, ok, err
	}
	s.claims++
	claim = s.claims
	b := s.index.boxes[partyToken(party)]
	for _, e := range es {
		ie := b.entries[e.id]
		ie.claim = claim
		b.entries[e.id] = ie
	}
	return es, claim, true, nil
}

// settleClaim ends claim on party's entries. With first, the sequence of
// the lease batch's first message (0 when unknown or the batch failed),
// the entries leased take their new record and the sequence at[i] after
// first, and those quarantined leave the mailbox; otherwise they are
// listed again as they were. An entry that the stream has changed since
// (a catch-up replaced it) or a new index no longer carries the claim and
// is left as the stream has it.
func (s *Store) settleClaim(party string, claim uint64, leased []mailboxEntry, at []uint64, quarantined []mailboxEntry, first uint64) {
	s.indexMu.Lock()
	defer s.indexMu.Unlock()
	if s.index == nil {
		return
	}
	b := s.index.boxes[partyToken(party)]
	if b == nil {
		return
	}
	for i, e := range leased {
		ie, ok := b.entries[e.id]
		if !ok || ie.claim != claim {
			continue
		}
		ie.claim = 0
		if first != 0 {
			ie = indexed{seq: first + at[i], rec: e.rec}
		}
		b.entries[e.id] = ie
	}
	for _, e := range quarantined {
		ie, ok := b.entries[e.id]
		if !ok || ie.claim != claim {
			continue
		}
		if first != 0 {
			b.remove(e.id)
			continue
		}
		ie.claim = 0
		b.entries[e.id] = ie
	}
}

// indexedSeq is the sequence of party's entry of message id as the index
// has it (it follows this node's leases at once, and others' at a
// catch-up), with the entry's listings; 0 when the index has no such
// entry, or it is being leased. An entry's compare-and-set against it
// fails if the stream holds a newer value, so a stale answer costs a
// conflict, not a wrong write.
func (s *Store) indexedSeq(party string, id store.ID) (uint64, []int64) {
	s.indexMu.Lock()
	defer s.indexMu.Unlock()
	if s.index == nil {
		return 0, nil
	}
	b := s.index.boxes[partyToken(party)]
	if b == nil {
		return 0, nil
	}
	e, ok := b.entries[id]
	if !ok || e.claim != 0 {
		return 0, nil
	}
	return e.seq, e.rec.Listed
}

// indexedEntry is party's entry of message id as the index has it; false
// when the index has none.
func (s *Store) indexedEntry(party string, id store.ID) (entryRec, bool) {
	s.indexMu.Lock()
	defer s.indexMu.Unlock()
	if s.index == nil {
		return entryRec{}, false
	}
	b := s.index.boxes[partyToken(party)]
	if b == nil {
		return entryRec{}, false
	}
	e, ok := b.entries[id]
	return e.rec, ok
}

// forget removes party's entry of message id from the index if the
// index still has it at seq: this node has just confirmed it.
func (s *Store) forget(party string, id store.ID, seq uint64) {
	s.indexMu.Lock()
	defer s.indexMu.Unlock()
	if s.index == nil {
		return
	}
	b := s.index.boxes[partyToken(party)]
	if b == nil {
		return
	}
	if e, ok := b.entries[id]; ok && e.seq == seq && e.claim == 0 {
		b.remove(id)
	}
}

// indexedEntriesLocked is indexedEntries for a listing that arrived at
// since; the caller holds s.indexMu. The index is caught up unless a
// confirmed catch-up began after since.
func (s *Store) indexedEntriesLocked(ctx context.Context, since time.Time, party string, limit int, keep func(*entryRec) (take, count bool)) (_ []mailboxEntry, ok bool, err error) {
	ix := s.index
	if ix == nil {
		return nil, false, nil
	}
	if ix.complete.Before(since) {
		if err := s.catchUpAll(ctx, ix); err != nil {
			return nil, true, err
		}
	}
	token := partyToken(party)
	for {
		es := ix.first(token, limit, keep)
		if !ix.suspect {
			return es, true, nil
		}
		gone := false
		for _, e := range es {
			m, found, err := s.lastFresh(ctx, s.sub.entry(party, e.id))
			if err != nil {
				return nil, true, err
			}
			if !found || len(m.data) == 0 {
				ix.boxes[token].remove(e.id) // its tombstone was missed
				gone = true
			}
		}
		if !gone {
			return es, true, nil
		}
	}
}

// indexedSummary is Mailbox from the index, when it has one that is not
// suspect (a suspect one could count a missed confirmation); ok is false
// when the caller must scan. It counts every entry, however many.
func (s *Store) indexedSummary(ctx context.Context, party string) (_ store.MailboxSummary, ok bool, err error) {
	s.indexMu.Lock()
	defer s.indexMu.Unlock()
	ix := s.index
	if ix == nil || ix.suspect {
		return store.MailboxSummary{}, false, nil
	}
	if err := s.catchUp(ctx, ix); err != nil {
		return store.MailboxSummary{}, true, err
	}
	if ix.suspect { // the catch-up found it had lapsed
		return store.MailboxSummary{}, false, nil
	}
	var sum store.MailboxSummary
	b := ix.boxes[partyToken(party)]
	if b == nil {
		return sum, true, nil
	}
	now := s.cfg.Now().UnixNano()
	for _, e := range b.entries {
		if e.rec.VisibleAt > now {
			sum.Leased++
		}
	}
	sum.Pending = int64(len(b.entries))
	for _, id := range b.order {
		if _, live := b.entries[id]; live {
			sum.Oldest = id.Time()
			break
		}
	}
	return sum, true, nil
}
