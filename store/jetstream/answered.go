package jetstream

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/knooppunt/knooppunt/store"
)

// readFunc reads the last message of a subject: s.last, s.lastFresh or
// s.lastLeader.
type readFunc = func(context.Context, string) (stored, bool, error)

// PutAnswered stores a heenbericht the switch answers itself and its
// answer; see store.Store.PutAnswered. Both go in one atomic batch that
// claims both dedup keys, and the traceerIds it indexes, with
// compare-and-set, so of concurrent calls (or Puts) for the same keys on
// any nodes exactly one stores them; the others re-read and find them
// stored. Everything is read and checked before that batch, which is the
// only write.
func (s *Store) PutAnswered(ctx context.Context, heen, answer *store.Message) (store.Receipt, store.Receipt, error) {
	if err := checkMessage(heen); err != nil {
		return store.Receipt{}, store.Receipt{}, fmt.Errorf("storing answered heenbericht: %w", err)
	}
	if err := checkMessage(answer); err != nil {
		return store.Receipt{}, store.Receipt{}, fmt.Errorf("storing answered heenbericht: the answer: %w", err)
	}
	if heen.Key() == answer.Key() {
		return store.Receipt{}, store.Receipt{}, fmt.Errorf("storing answered heenbericht: the answer has its key: %w", store.ErrDuplicate)
	}
	if hc, ac := heen.Correlation, answer.Correlation; hc != nil && ac != nil && hc.Traceer == ac.Traceer {
		return store.Receipt{}, store.Receipt{}, fmt.Errorf("storing answered heenbericht: the answer has its traceerId %s: %w", hc.Traceer, store.ErrTraceerTaken)
	}
	if err := s.enter(); err != nil {
		return store.Receipt{}, store.Receipt{}, err
	}
	s.leave()
	hp, ap := s.prepare(heen), s.prepare(answer)
	var hr, ar store.Receipt
	// A replica first; after a lost race, the leader, which knows the
	// winner. fresh is for what must not be missed: a replica's "absent"
	// is asked of the leader.
	read, fresh := s.last, s.lastFresh
	err := s.retry(ctx, func() error {
		var err error
		hr, ar, err = s.putAnswered(ctx, hp, ap, read, fresh)
		read, fresh = s.lastLeader, s.lastLeader
		return err
	})
	if err != nil {
		s.countConflict(err)
		return store.Receipt{}, store.Receipt{}, fmt.Errorf("storing answered heenbericht: %w", err)
	}
	return hr, ar, nil
}

// putAnswered is one attempt of PutAnswered.
func (s *Store) putAnswered(ctx context.Context, hp, ap *prepared, read, fresh readFunc) (hr, ar store.Receipt, err error) {
	d, dseq, found, err := s.dedupEntry(ctx, hp, read)
	if err != nil {
		return hr, ar, err
	}
	var prior *priorHeen
	if found {
		if prior, hr, ar, err = s.heenBefore(ctx, hp, d.ID, dseq, read, fresh); err != nil || prior == nil {
			return hr, ar, err
		}
	}
	hplan, aplan, err := s.planAnswered(ctx, hp, ap, prior == nil, read)
	if err != nil {
		return hr, ar, s.recheck(ctx, hp, dseq, err)
	}
	var heenID, ansID store.ID
	err = s.submit(ctx, func(b *builder) {
		if prior == nil {
			heenID = b.newID()
			b.message(hp, heenID, heenID, store.ID{}, hplan, false)
			b.confirmed(heenID, nil)
		} else {
			heenID = prior.id
			prior.write(b, hp)
			b.reception(heenID, hp.msg.Reception, true)
		}
		ansID = b.newID()
		b.message(ap, ansID, heenID, heenID, aplan, true)
	})
	if err != nil {
		return store.Receipt{}, store.Receipt{}, err
	}
	s.stats.puts.Add(1)
	s.stats.pending.Add(1)
	if prior == nil {
		s.stats.puts.Add(1)
		s.stats.acks.Add(1)
		return store.Receipt{ID: heenID}, store.Receipt{ID: ansID}, nil
	}
	s.stats.duplicates.Add(1)
	if prior.entry != nil {
		s.stats.acks.Add(1)
		if prior.quarantined {
			s.stats.quarantined.Add(-1)
		} else {
			s.stats.pending.Add(-1)
		}
	}
	return store.Receipt{ID: heenID, Duplicate: true}, store.Receipt{ID: ansID}, nil
}

// planAnswered checks that the answer's key is free and that no
// traceerId is taken, and plans the correlation indexes of the answer and,
// when withHeen, of the heenbericht.
func (s *Store) planAnswered(ctx context.Context, hp, ap *prepared, withHeen bool, read readFunc) (hplan, aplan corrPlan, err error) {
	if _, _, found, err := s.dedupEntry(ctx, ap, read); err != nil {
		return hplan, aplan, fmt.Errorf("the answer: %w", err)
	} else if found {
		return hplan, aplan, fmt.Errorf("the answer's key is taken by another message: %w", store.ErrDuplicate)
	}
	if hp.corr != nil && withHeen {
		if hplan, err = s.planCorrelation(ctx, hp.corr, store.ID{}, true, read); err != nil {
			return hplan, aplan, err
		}
	}
	if ap.corr != nil {
		if aplan, err = s.planCorrelation(ctx, ap.corr, store.ID{}, true, read); err != nil {
			return hplan, aplan, fmt.Errorf("the answer: %w", err)
		}
		if hplan.conversatie && hp.corr.Conversatie == ap.corr.Conversatie {
			aplan.conversatie = false // the heenbericht, stored first, holds it
		}
	}
	return hplan, aplan, nil
}

// recheck returns errConflict instead of the refusal err when the
// heenbericht's dedup entry is no longer at sequence dseq (0: absent), as
// the leader sees it: a concurrent call may have stored this very pair
// between the reads, taking the answer's key or a traceerId, and the
// attempt reads again.
func (s *Store) recheck(ctx context.Context, hp *prepared, dseq uint64, err error) error {
	if !errors.Is(err, store.ErrDuplicate) && !errors.Is(err, store.ErrTraceerTaken) {
		return err
	}
	d, found, rerr := s.lastLeader(ctx, hp.dsubj)
	switch {
	case rerr != nil:
		return rerr
	case found && d.seq != dseq, !found && dseq != 0:
		return errConflict
	}
	return err
}

// priorHeen is a heenbericht stored before in its own mailbox without an
// answer, as a store that wrote the two apart left it: PutAnswered
// confirms it and stores the answer now.
type priorHeen struct {
	id store.ID
	// dedupSeq is the sequence of its dedup entry, written again
	// unchanged with compare-and-set so that of concurrent calls only one
	// answers it.
	dedupSeq uint64
	plan     corrPlan // the resend's traceerId
	// entry is its mailbox entry, or with quarantined its quarantine
	// entry, to clear; nil when it was confirmed before.
	entry       *stored
	quarantined bool
	listed      []int64 // the entry's listings
}

// write adds the resend's confirmation of p to b.
func (p *priorHeen) write(b *builder, hp *prepared) {
	b.set(hp.dsubj, encode(dedupRec{ID: p.id, SHA256: hp.sum[:]}), int64(p.dedupSeq))
	if hp.corr != nil && p.plan.traceer {
		p.plan.write(b, hp.corr, p.id)
		b.add(b.s.sub.corrAliases(p.id), []byte(hex.EncodeToString(hp.corr.Traceer[:])))
	}
	if p.entry != nil {
		b.clear(p.entry.subject, int64(p.entry.seq))
		b.confirmed(p.id, p.listed)
	}
}

// heenBefore handles a resend of the heenbericht hp, stored before as
// message id with its dedup entry at sequence dseq. It returns the
// receipts when nothing is left to do: when it was answered before (both
// duplicates), or filed in another mailbox, whose owner answers it (no
// answer receipt). Otherwise it returns what confirming it takes.
func (s *Store) heenBefore(ctx context.Context, hp *prepared, id store.ID, dseq uint64, read, fresh readFunc) (*priorHeen, store.Receipt, store.Receipt, error) {
	hr := store.Receipt{ID: id, Duplicate: true}
	rec, _, err := s.meta(ctx, id)
	if err != nil {
		return nil, store.Receipt{}, store.Receipt{}, fmt.Errorf("heenbericht %s: %w", id, err)
	}
	var ar store.Receipt
	if rec.Recipient == hp.msg.Recipient {
		ans, found, err := s.firstAnswer(ctx, id, fresh)
		if err != nil {
			return nil, store.Receipt{}, store.Receipt{}, err
		}
		if !found {
			p, err := s.priorHeen(ctx, hp, id, dseq, rec.Recipient, read, fresh)
			return p, store.Receipt{}, store.Receipt{}, err
		}
		ar = store.Receipt{ID: ans, Duplicate: true}
	}
	if err := s.indexResend(ctx, id, hp.corr, read); err != nil {
		return nil, store.Receipt{}, store.Receipt{}, err
	}
	s.stats.duplicates.Add(1)
	if !ar.ID.IsZero() {
		s.stats.duplicates.Add(1)
	}
	return nil, hr, ar, nil
}

// priorHeen reads what confirming the unanswered heenbericht id in
// party's mailbox takes.
func (s *Store) priorHeen(ctx context.Context, hp *prepared, id store.ID, dseq uint64, party string, read, fresh readFunc) (*priorHeen, error) {
	p := &priorHeen{id: id, dedupSeq: dseq}
	if hp.corr != nil {
		var err error
		if p.plan, err = s.planCorrelation(ctx, hp.corr, id, false, read); err != nil {
			return nil, err
		}
	}
	e, found, err := fresh(ctx, s.sub.entry(party, id))
	if err != nil {
		return nil, err
	}
	if found && len(e.data) > 0 {
		var r entryRec
		if err := decode(e.data, &r, "mailbox entry"); err != nil {
			return nil, err
		}
		p.entry, p.listed = &e, r.Listed
		return p, nil
	}
	x, found, err := fresh(ctx, s.sub.quarantine(id))
	if err != nil {
		return nil, err
	}
	if found && len(x.data) > 0 {
		var r entryRec
		if err := decode(x.data, &r, "quarantine entry"); err != nil {
			return nil, err
		}
		if r.Recipient == party {
			p.entry, p.quarantined, p.listed = &x, true, r.Listed
		}
	}
	return p, nil
}

// firstAnswer returns the first answer linked to heenbericht heen, if
// any. An empty conversation on a replica is asked of fresh.
func (s *Store) firstAnswer(ctx context.Context, heen store.ID, fresh readFunc) (store.ID, bool, error) {
	var first store.ID
	found := false
	parse := func(data []byte) error {
		a, err := store.ParseID(string(data))
		if err != nil {
			return fmt.Errorf("conversation entry: %w", store.ErrCorrupt)
		}
		first, found = a, true
		return nil
	}
	err := s.scan(ctx, s.sub.conv(heen), 0, func(m stored) (bool, error) {
		return false, parse(m.data)
	})
	if err != nil || found {
		return first, found, err
	}
	m, ok, err := fresh(ctx, s.sub.conv(heen))
	if err != nil || !ok {
		return store.ID{}, false, err
	}
	if err := parse(m.data); err != nil {
		return store.ID{}, false, err
	}
	return first, true, nil
}
