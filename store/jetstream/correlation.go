package jetstream

import (
	"context"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/knooppunt/knooppunt/store"
)

// Correlations of messages from VECOZO's exchange API, as the Pebble store
// keeps them (store/correlation_pebble.go). Like the reference numbers
// (refs.go) each is a state subject with a per-message TTL of
// MetadataRetention, and a read checks its age against the store's clock.
//
//	P.f.t.<traceer hex>       traceerId → message: at, id
//	P.f.r.<id>                message → correlation: at, the four fields
//	P.f.v.<conversatie hex>   conversatieId → first message: at, id

func (s subjects) corrTraceer(u store.UUID) string {
	return s.p + ".f.t." + hex.EncodeToString(u[:])
}

func (s subjects) corrMessage(id store.ID) string { return s.p + ".f.r." + id.String() }

func (s subjects) corrConversatie(u store.UUID) string {
	return s.p + ".f.v." + hex.EncodeToString(u[:])
}

// corrRec is the value of a correlation subject: ID for the traceerId and
// conversatieId subjects, the correlation for the message subject.
type corrRec struct {
	At            int64    `json:"at"`
	ID            store.ID `json:"id,omitzero"`
	Traceer       string   `json:"traceer,omitempty"`
	Conversatie   string   `json:"conversatie,omitempty"`
	AlsAntwoordOp string   `json:"alsAntwoordOp,omitempty"`
	ReferentieID  string   `json:"referentieId,omitempty"`
}

func corrRecOf(c store.Correlation) corrRec {
	r := corrRec{Traceer: c.Traceer.String(), Conversatie: c.Conversatie.String(), ReferentieID: c.ReferentieID}
	if !c.AlsAntwoordOp.IsZero() {
		r.AlsAntwoordOp = c.AlsAntwoordOp.String()
	}
	return r
}

func (r corrRec) correlation() (store.Correlation, error) {
	c := store.Correlation{ReferentieID: r.ReferentieID}
	var err error
	if c.Traceer, err = store.ParseUUID(r.Traceer); err != nil {
		return c, fmt.Errorf("decoding correlation: traceerId: %w", store.ErrCorrupt)
	}
	if c.Conversatie, err = store.ParseUUID(r.Conversatie); err != nil {
		return c, fmt.Errorf("decoding correlation: conversatieId: %w", store.ErrCorrupt)
	}
	if r.AlsAntwoordOp != "" {
		if c.AlsAntwoordOp, err = store.ParseUUID(r.AlsAntwoordOp); err != nil {
			return c, fmt.Errorf("decoding correlation: alsAntwoordOp: %w", store.ErrCorrupt)
		}
	}
	return c, nil
}

// setCorr writes a correlation entry that the servers drop after the
// metadata retention; expect as in builder.set.
func (b *builder) setCorr(subject string, rec corrRec, expect int64) {
	rec.At = b.now.UnixNano()
	b.setTTL(subject, encode(rec), expect, max(b.s.cfg.MetadataRetention, time.Second).String())
}

// liveCorr reads a correlation entry; one past the retention is absent
// even before the server removed it. seq is the subject's last sequence
// (0: none), for a compare-and-set.
func (s *Store) liveCorr(ctx context.Context, subject string, read func(context.Context, string) (stored, bool, error)) (corrRec, uint64, bool, error) {
	var rec corrRec
	m, found, err := read(ctx, subject)
	if err != nil || !found || len(m.data) == 0 { // an empty value is a tombstone
		return rec, m.seq, false, err
	}
	if err := decode(m.data, &rec, "correlation"); err != nil {
		return rec, m.seq, false, err
	}
	if s.cfg.Now().Sub(unixTime(rec.At)) > s.cfg.MetadataRetention {
		return rec, m.seq, false, nil
	}
	return rec, m.seq, true, nil
}

// Correlate records that message id carries c; see store.CorrelationStore.
// Each entry is written only where none lives, with compare-and-set, and
// all in one atomic batch, so two nodes correlating one traceerId at once
// leave it naming one message, and the other fails with ErrDuplicate.
func (s *Store) Correlate(ctx context.Context, id store.ID, c store.Correlation) error {
	if id.IsZero() {
		return fmt.Errorf("recording correlation: zero id: %w", store.ErrInvalid)
	}
	if err := c.Check(); err != nil {
		return fmt.Errorf("recording correlation of %s: %w", id, err)
	}
	ts, rs, vs := s.sub.corrTraceer(c.Traceer), s.sub.corrMessage(id), s.sub.corrConversatie(c.Conversatie)
	read := s.lastFresh
	err := s.retry(ctx, func() error {
		t, tseq, taken, err := s.liveCorr(ctx, ts, read)
		if err != nil {
			return err
		}
		_, rseq, hasCorr, err := s.liveCorr(ctx, rs, read)
		if err != nil {
			return err
		}
		_, vseq, hasConv, err := s.liveCorr(ctx, vs, read)
		if err != nil {
			return err
		}
		read = s.lastLeader // after a lost race, the leader knows the winner
		if taken && t.ID.IsZero() {
			return fmt.Errorf("decoding correlation: no message id: %w", store.ErrCorrupt)
		}
		if taken && t.ID != id {
			return fmt.Errorf("traceerId %s names another message: %w", c.Traceer, store.ErrDuplicate)
		}
		if taken && hasCorr && hasConv {
			return nil
		}
		return s.submit(ctx, func(b *builder) {
			if !taken {
				b.setCorr(ts, corrRec{ID: id}, int64(tseq))
			}
			if !hasCorr {
				b.setCorr(rs, corrRecOf(c), int64(rseq))
			}
			if !hasConv {
				b.setCorr(vs, corrRec{ID: id}, int64(vseq))
			}
		})
	})
	if err != nil {
		return fmt.Errorf("recording correlation of %s: %w", id, err)
	}
	return nil
}

// Correlation returns the correlation recorded for message id.
func (s *Store) Correlation(ctx context.Context, id store.ID) (store.Correlation, bool, error) {
	rec, ok, err := s.readCorr(ctx, s.sub.corrMessage(id))
	if err != nil {
		return store.Correlation{}, false, fmt.Errorf("reading correlation of %s: %w", id, err)
	}
	if !ok {
		return store.Correlation{}, false, nil
	}
	c, err := rec.correlation()
	if err != nil {
		return store.Correlation{}, false, fmt.Errorf("reading correlation of %s: %w", id, err)
	}
	return c, true, nil
}

// ByTraceer returns the message a traceerId names.
func (s *Store) ByTraceer(ctx context.Context, traceer store.UUID) (store.ID, bool, error) {
	id, ok, err := s.correlatedID(ctx, s.sub.corrTraceer(traceer))
	if err != nil {
		return store.ID{}, false, fmt.Errorf("reading message of traceerId %s: %w", traceer, err)
	}
	return id, ok, nil
}

// ByConversatie returns the first message recorded with a conversatieId.
func (s *Store) ByConversatie(ctx context.Context, conversatie store.UUID) (store.ID, bool, error) {
	id, ok, err := s.correlatedID(ctx, s.sub.corrConversatie(conversatie))
	if err != nil {
		return store.ID{}, false, fmt.Errorf("reading message of conversatieId %s: %w", conversatie, err)
	}
	return id, ok, nil
}

func (s *Store) readCorr(ctx context.Context, subject string) (corrRec, bool, error) {
	if err := s.enter(); err != nil {
		return corrRec{}, false, err
	}
	defer s.leave()
	rec, _, ok, err := s.liveCorr(ctx, subject, s.lastFresh)
	return rec, ok, err
}

func (s *Store) correlatedID(ctx context.Context, subject string) (store.ID, bool, error) {
	rec, ok, err := s.readCorr(ctx, subject)
	if err != nil || !ok {
		return store.ID{}, false, err
	}
	if rec.ID.IsZero() {
		return store.ID{}, false, fmt.Errorf("decoding correlation: no message id: %w", store.ErrCorrupt)
	}
	return rec.ID, true, nil
}
