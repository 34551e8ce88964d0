package jetstream

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/knooppunt/knooppunt/store"
)

// Reference numbers of a front door (the StUF-GGk envelope's
// referentienummer), as the Pebble store keeps them (store/refs.go): which
// (zender, referentienummer) pairs are taken, which Di01s a Du01 may
// answer, which Di01 carried a stored message. Each is a state subject
// whose message carries a per-message TTL of MetadataRetention, so the
// servers remove it without a janitor; until then a read also checks its
// age against the store's clock.
//
//	P.f.c.<sha256(zender, ref)>   claim: at, payload digest
//	P.f.d.<sha256(ref)>           Di01: at, ontvanger
//	P.f.i.<id>                    message → Di01: at, ref

func (s subjects) refClaim(zender, ref string) string {
	h := sha256.New()
	h.Write([]byte(zender))
	h.Write([]byte{0})
	h.Write([]byte(ref))
	return s.p + ".f.c." + hex.EncodeToString(h.Sum(nil))
}

func (s subjects) refDi01(ref string) string {
	sum := sha256.Sum256([]byte(ref))
	return s.p + ".f.d." + hex.EncodeToString(sum[:])
}

func (s subjects) refMessage(id store.ID) string { return s.p + ".f.i." + id.String() }

// refRec is the value of a reference subject.
type refRec struct {
	At     int64  `json:"at"`
	SHA256 []byte `json:"sha256,omitempty"` // claim: the payload's digest
	Value  string `json:"v,omitempty"`      // Di01: ontvanger; message: ref
}

// setRef writes a reference entry that the servers drop after the
// metadata retention.
func (b *builder) setRef(subject string, rec refRec, expect int64) {
	rec.At = b.now.UnixNano()
	b.setTTL(subject, encode(rec), expect, max(b.s.cfg.MetadataRetention, time.Second).String())
}

func checkRef(what, v string) error {
	if err := store.CheckField(what, v, store.MaxRefLen); err != nil {
		return fmt.Errorf("reference: %w", err)
	}
	return nil
}

// liveRef reads a reference entry; one past the retention is absent even
// before the server removed it.
func (s *Store) liveRef(ctx context.Context, subject string, read func(context.Context, string) (stored, bool, error)) (refRec, uint64, bool, error) {
	var rec refRec
	m, found, err := read(ctx, subject)
	if err != nil || !found || len(m.data) == 0 { // an empty value is a tombstone
		return rec, m.seq, false, err
	}
	if err := decode(m.data, &rec, "reference"); err != nil {
		return rec, m.seq, false, err
	}
	if s.cfg.Now().Sub(unixTime(rec.At)) > s.cfg.MetadataRetention {
		return rec, m.seq, false, nil
	}
	return rec, m.seq, true, nil
}

// ClaimRef takes (zender, ref) for a payload with digest sum, or reports
// the pair resent (same digest) or taken (another digest); see
// pebble.Store.ClaimRef. A new claim is a compare-and-set, so two nodes
// claiming one pair at once get one RefNew between them.
func (s *Store) ClaimRef(ctx context.Context, zender, ref string, sum [32]byte) (store.RefClaim, error) {
	if err := errors.Join(checkRef("zender", zender), checkRef("ref", ref)); err != nil {
		return 0, fmt.Errorf("claiming reference: %w", err)
	}
	subject := s.sub.refClaim(zender, ref)
	var out store.RefClaim
	read := s.lastFresh
	err := s.retry(ctx, func() error {
		rec, seq, live, err := s.liveRef(ctx, subject, read)
		read = s.lastLeader // after a lost race, the leader knows the winner
		switch {
		case err != nil:
			return err
		case live && bytes.Equal(rec.SHA256, sum[:]):
			out = store.RefResend
			return nil
		case live:
			out = store.RefTaken
			return nil
		}
		out = store.RefNew
		return s.submit(ctx, func(b *builder) { b.setRef(subject, refRec{SHA256: sum[:]}, int64(seq)) })
	})
	if err != nil {
		return 0, fmt.Errorf("claiming reference: %w", err)
	}
	return out, nil
}

// ReleaseRef frees a claimed pair (the payload was then refused), so the
// sender can correct it and send it again.
func (s *Store) ReleaseRef(ctx context.Context, zender, ref string) error {
	if err := errors.Join(checkRef("zender", zender), checkRef("ref", ref)); err != nil {
		return fmt.Errorf("releasing reference: %w", err)
	}
	if err := s.submit(ctx, func(b *builder) { b.clear(s.sub.refClaim(zender, ref), -1) }); err != nil {
		return fmt.Errorf("releasing reference: %w", err)
	}
	return nil
}

// AddDi01 records a Di01 by its referentienummer and the organisation it
// was addressed to.
func (s *Store) AddDi01(ctx context.Context, ref, ontvanger string) error {
	if err := errors.Join(checkRef("ref", ref), checkRef("ontvanger", ontvanger)); err != nil {
		return fmt.Errorf("recording Di01: %w", err)
	}
	if err := s.submit(ctx, func(b *builder) { b.setRef(s.sub.refDi01(ref), refRec{Value: ontvanger}, -1) }); err != nil {
		return fmt.Errorf("recording Di01: %w", err)
	}
	return nil
}

// Di01 reports whether a Di01 with referentienummer ref was recorded, and
// the organisation it was addressed to.
func (s *Store) Di01(ctx context.Context, ref string) (string, bool, error) {
	if err := checkRef("ref", ref); err != nil {
		return "", false, fmt.Errorf("reading Di01: %w", err)
	}
	if err := s.enter(); err != nil {
		return "", false, fmt.Errorf("reading Di01: %w", err)
	}
	defer s.leave()
	rec, _, ok, err := s.liveRef(ctx, s.sub.refDi01(ref), s.lastFresh)
	if err != nil {
		return "", false, fmt.Errorf("reading Di01: %w", err)
	}
	return rec.Value, ok, nil
}

// BindMessage records that message id arrived in the Di01 ref.
func (s *Store) BindMessage(ctx context.Context, id store.ID, ref string) error {
	if err := checkRef("ref", ref); err != nil {
		return fmt.Errorf("binding message: %w", err)
	}
	if id.IsZero() {
		return fmt.Errorf("binding message: zero id: %w", store.ErrInvalid)
	}
	if err := s.submit(ctx, func(b *builder) { b.setRef(s.sub.refMessage(id), refRec{Value: ref}, -1) }); err != nil {
		return fmt.Errorf("binding message %s: %w", id, err)
	}
	return nil
}

// RecordDi01 is AddDi01 and BindMessage in one atomic batch.
func (s *Store) RecordDi01(ctx context.Context, ref, ontvanger string, id store.ID) error {
	if err := errors.Join(checkRef("ref", ref), checkRef("ontvanger", ontvanger)); err != nil {
		return fmt.Errorf("recording Di01: %w", err)
	}
	if id.IsZero() {
		return fmt.Errorf("recording Di01: zero id: %w", store.ErrInvalid)
	}
	err := s.submit(ctx, func(b *builder) {
		b.setRef(s.sub.refDi01(ref), refRec{Value: ontvanger}, -1)
		b.setRef(s.sub.refMessage(id), refRec{Value: ref}, -1)
	})
	if err != nil {
		return fmt.Errorf("recording Di01 for %s: %w", id, err)
	}
	return nil
}

// MessageRef returns the referentienummer of the Di01 that carried
// message id.
func (s *Store) MessageRef(ctx context.Context, id store.ID) (string, bool, error) {
	if err := s.enter(); err != nil {
		return "", false, fmt.Errorf("reading message reference: %w", err)
	}
	defer s.leave()
	rec, _, ok, err := s.liveRef(ctx, s.sub.refMessage(id), s.lastFresh)
	if err != nil {
		return "", false, fmt.Errorf("reading message reference %s: %w", id, err)
	}
	return rec.Value, ok, nil
}
