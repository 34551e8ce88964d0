package jetstream

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/knooppunt/knooppunt/store"
)

// Correlations of messages from VECOZO's exchange API. A message's
// correlation is part of its record (metaRec.Correlation); Put indexes its
// traceerId and conversatieId in the same atomic batch as the message:
//
//	P.f.t.<traceer hex>       state: traceerId → message (corrRec), written
//	                          with compare-and-set against the sequence read
//	P.f.v.<conversatie hex>   state: conversatieId → first message (corrRec),
//	                          written only where none is, with compare-and-set
//	P.f.a.<id>                log: traceerIds identical resends added for
//	                          message id, for the janitor
//
// An index entry lives as long as the message it names: the janitor's
// purge removes the entries that name the message before its record, and
// an entry whose message is gone all the same (an entry written before
// this layout) counts as absent.

func (s subjects) corrTraceer(u store.UUID) string {
	return s.p + ".f.t." + hex.EncodeToString(u[:])
}

func (s subjects) corrConversatie(u store.UUID) string {
	return s.p + ".f.v." + hex.EncodeToString(u[:])
}

func (s subjects) corrAliases(id store.ID) string { return s.p + ".f.a." + id.String() }

// corrRec is the value of an index subject: the message named, and when
// it was indexed.
type corrRec struct {
	At int64    `json:"at"`
	ID store.ID `json:"id,omitzero"`
}

// correlationRec is a store.Correlation as records keep it: its UUIDs in
// text form.
type correlationRec store.Correlation

type correlationJSON struct {
	Traceer       string `json:"traceer"`
	Conversatie   string `json:"conversatie"`
	AlsAntwoordOp string `json:"alsAntwoordOp,omitempty"`
	ReferentieID  string `json:"referentieId,omitempty"`
	Context       []byte `json:"ctx,omitempty"` // Verwerkingscontext
}

// correlationRecOf is c as a record; nil for nil.
func correlationRecOf(c *store.Correlation) *correlationRec {
	if c == nil {
		return nil
	}
	r := correlationRec(*c)
	return &r
}

// correlation is r as a store.Correlation of its own; nil for nil.
func (r *correlationRec) correlation() *store.Correlation {
	if r == nil {
		return nil
	}
	c := store.Correlation(*r)
	return &c
}

func (r correlationRec) MarshalJSON() ([]byte, error) {
	j := correlationJSON{Traceer: r.Traceer.String(), Conversatie: r.Conversatie.String(), ReferentieID: r.ReferentieID,
		Context: r.Verwerkingscontext}
	if !r.AlsAntwoordOp.IsZero() {
		j.AlsAntwoordOp = r.AlsAntwoordOp.String()
	}
	return json.Marshal(j)
}

func (r *correlationRec) UnmarshalJSON(b []byte) error {
	var j correlationJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	c := store.Correlation{ReferentieID: j.ReferentieID, Verwerkingscontext: j.Context}
	var err error
	if c.Traceer, err = store.ParseUUID(j.Traceer); err != nil {
		return fmt.Errorf("correlation: traceerId: %w", err)
	}
	if c.Conversatie, err = store.ParseUUID(j.Conversatie); err != nil {
		return fmt.Errorf("correlation: conversatieId: %w", err)
	}
	if j.AlsAntwoordOp != "" {
		if c.AlsAntwoordOp, err = store.ParseUUID(j.AlsAntwoordOp); err != nil {
			return fmt.Errorf("correlation: alsAntwoordOp: %w", err)
		}
	}
	*r = correlationRec(c)
	return nil
}

// setCorr points an index subject at message id; expect as in builder.set.
func (b *builder) setCorr(subject string, id store.ID, expect int64) {
	b.set(subject, encode(corrRec{At: b.now.UnixNano(), ID: id}), expect)
}

// indexEntry reads an index subject: the message it names, if that still
// exists, and the subject's last sequence (0: none), for a
// compare-and-set.
func (s *Store) indexEntry(ctx context.Context, subject string, read func(context.Context, string) (stored, bool, error)) (store.ID, uint64, bool, error) {
	m, found, err := read(ctx, subject)
	if err != nil || !found || len(m.data) == 0 { // an empty value is a tombstone
		return store.ID{}, m.seq, false, err
	}
	var rec corrRec
	if err := decode(m.data, &rec, "correlation index"); err != nil {
		return store.ID{}, m.seq, false, err
	}
	if rec.ID.IsZero() {
		return store.ID{}, m.seq, false, fmt.Errorf("decoding correlation index: no message id: %w", store.ErrCorrupt)
	}
	if _, found, err := s.lastFresh(ctx, s.sub.meta(rec.ID)); err != nil || !found {
		return store.ID{}, m.seq, false, err
	}
	return rec.ID, m.seq, true, nil
}

// corrPlan is what a write of message self with correlation c must add to
// the indexes, with the sequences its compare-and-set expects.
type corrPlan struct {
	traceer, conversatie       bool // write the subject
	traceerSeq, conversatieSeq uint64
}

// planCorrelation reads the indexes for a write of message self with
// correlation c. A traceerId naming another message that still exists is
// store.ErrTraceerTaken. withConversatie also plans the conversatieId
// entry, where none is.
func (s *Store) planCorrelation(ctx context.Context, c *store.Correlation, self store.ID, withConversatie bool, read func(context.Context, string) (stored, bool, error)) (corrPlan, error) {
	var p corrPlan
	owner, seq, taken, err := s.indexEntry(ctx, s.sub.corrTraceer(c.Traceer), read)
	if err != nil {
		return p, err
	}
	if taken && owner != self {
		return p, fmt.Errorf("traceerId %s: %w", c.Traceer, store.ErrTraceerTaken)
	}
	p.traceer, p.traceerSeq = !taken, seq
	if withConversatie {
		_, seq, found, err := s.indexEntry(ctx, s.sub.corrConversatie(c.Conversatie), read)
		if err != nil {
			return p, err
		}
		p.conversatie, p.conversatieSeq = !found, seq
	}
	return p, nil
}

// write adds the planned index entries for message id to b.
func (p corrPlan) write(b *builder, c *store.Correlation, id store.ID) {
	if p.traceer {
		b.setCorr(b.s.sub.corrTraceer(c.Traceer), id, int64(p.traceerSeq))
	}
	if p.conversatie {
		b.setCorr(b.s.sub.corrConversatie(c.Conversatie), id, int64(p.conversatieSeq))
	}
}

// purgeCorrelation lists the index subjects that name message id, whose
// record is rec, for the janitor: its own traceerId and conversatieId and
// those of its identical resends, and the log of the latter.
func (s *Store) purgeCorrelation(ctx context.Context, id store.ID, rec metaRec) ([]string, error) {
	var subjects []string
	names := func(subject string) error {
		m, found, err := s.lastLeader(ctx, subject)
		if err != nil || !found || len(m.data) == 0 {
			return err
		}
		var r corrRec
		if decode(m.data, &r, "correlation index") == nil && r.ID == id {
			subjects = append(subjects, subject)
		}
		return nil
	}
	if c := rec.Correlation; c != nil {
		if err := errors.Join(names(s.sub.corrTraceer(c.Traceer)), names(s.sub.corrConversatie(c.Conversatie))); err != nil {
			return nil, err
		}
	}
	aliases := false
	err := s.scan(ctx, s.sub.corrAliases(id), 0, func(m stored) (bool, error) {
		aliases = true
		var u store.UUID
		if len(m.data) != 2*len(u) {
			return true, nil // not one of ours: the log goes all the same
		}
		if _, err := hex.Decode(u[:], m.data); err != nil {
			return true, nil
		}
		return true, names(s.sub.corrTraceer(u))
	})
	if err != nil {
		return nil, err
	}
	if aliases {
		subjects = append(subjects, s.sub.corrAliases(id))
	}
	return subjects, nil
}

// Correlation returns the correlation message id was stored with.
func (s *Store) Correlation(ctx context.Context, id store.ID) (store.Correlation, bool, error) {
	if err := s.enter(); err != nil {
		return store.Correlation{}, false, err
	}
	defer s.leave()
	rec, _, err := s.meta(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Correlation{}, false, nil
	} else if err != nil {
		return store.Correlation{}, false, fmt.Errorf("reading correlation of %s: %w", id, err)
	}
	if rec.Correlation == nil {
		return store.Correlation{}, false, nil
	}
	return store.Correlation(*rec.Correlation), true, nil
}

// ByTraceer returns the message a traceerId names.
func (s *Store) ByTraceer(ctx context.Context, traceer store.UUID) (store.ID, bool, error) {
	id, ok, err := s.byIndex(ctx, s.sub.corrTraceer(traceer))
	if err != nil {
		return store.ID{}, false, fmt.Errorf("reading message of traceerId %s: %w", traceer, err)
	}
	return id, ok, nil
}

// ByConversatie returns the first message stored with a conversatieId.
func (s *Store) ByConversatie(ctx context.Context, conversatie store.UUID) (store.ID, bool, error) {
	id, ok, err := s.byIndex(ctx, s.sub.corrConversatie(conversatie))
	if err != nil {
		return store.ID{}, false, fmt.Errorf("reading message of conversatieId %s: %w", conversatie, err)
	}
	return id, ok, nil
}

func (s *Store) byIndex(ctx context.Context, subject string) (store.ID, bool, error) {
	if err := s.enter(); err != nil {
		return store.ID{}, false, err
	}
	defer s.leave()
	id, _, ok, err := s.indexEntry(ctx, subject, s.lastFresh)
	return id, ok, err
}
