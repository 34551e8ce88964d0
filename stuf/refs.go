package stuf

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/knooppunt/knooppunt/store"
)

// Claim is the outcome of Refs.Claim.
type Claim int

// Outcomes of a claim on (zender, referentienummer).
const (
	// ClaimNew: the pair was free and is now held for this message.
	ClaimNew Claim = iota
	// ClaimResend: the pair holds the same message (same digest): an
	// idempotent resend, answered as the first time.
	ClaimResend
	// ClaimTaken: the pair holds another message (IB216).
	ClaimTaken
)

// Refs remembers envelope referentienummers: which (zender,
// referentienummer) pairs are used (uniqueness, IB216) and which Di01s
// exist that a Du01 may answer (its crossRefnummer), whether the switch
// received them or sent them itself. Implementations must be safe for
// concurrent use.
type Refs interface {
	// Claim takes (zender, ref) for a message with digest sum, or
	// reports it resent or taken.
	Claim(ctx context.Context, zender, ref string, sum [32]byte) (Claim, error)
	// Release frees a pair claimed for a message the pipeline then
	// refused, so the sender can correct it and send it again.
	Release(ctx context.Context, zender, ref string) error
	// AddDi01 records a Di01 by its referentienummer and the organisation
	// it was addressed to; the switch calls it for Di01s it accepts and
	// for Di01s it sends (push delivery).
	AddDi01(ctx context.Context, ref, ontvanger string) error
	// Di01 reports whether a Di01 with referentienummer ref exists and
	// the organisation it was addressed to.
	Di01(ctx context.Context, ref string) (ontvanger string, ok bool, err error)
	// BindMessage records that the switch stored the payload of the Di01
	// ref as message id, so the Du01 pushed with its answer can name ref
	// as crossRefnummer.
	BindMessage(ctx context.Context, id, ref string) error
	// MessageRef returns the referentienummer of the Di01 that carried
	// message id.
	MessageRef(ctx context.Context, id string) (ref string, ok bool, err error)
}

// MemoryRefs is a Refs in memory that forgets entries after a retention
// period. It does not survive a restart: after one, resends of old
// referentienummers are treated as new (the store's dedup on the payload's
// Identificatie still catches them) and Du01s answering Di01s from before
// are refused with KP101. A durable Refs belongs in the store.
type MemoryRefs struct {
	retention time.Duration
	now       func() time.Time

	mu     sync.Mutex
	claims map[[2]string]claimEntry
	di01   map[string]di01Entry
	byID   map[string]di01Entry // message id → Di01 referentienummer (in ontvanger)
	swept  time.Time
}

type claimEntry struct {
	sum [32]byte
	at  time.Time
}

type di01Entry struct {
	ontvanger string
	at        time.Time
}

// DefaultRefsRetention is how long MemoryRefs remembers a pair: 62 days,
// the store's metadata retention.
const DefaultRefsRetention = 62 * 24 * time.Hour

// NewMemoryRefs returns an empty MemoryRefs keeping entries for retention
// (0: DefaultRefsRetention); now nil means time.Now.
func NewMemoryRefs(retention time.Duration, now func() time.Time) *MemoryRefs {
	if retention <= 0 {
		retention = DefaultRefsRetention
	}
	if now == nil {
		now = time.Now
	}
	return &MemoryRefs{retention: retention, now: now, claims: map[[2]string]claimEntry{}, di01: map[string]di01Entry{}, byID: map[string]di01Entry{}}
}

// Claim implements Refs.
func (m *MemoryRefs) Claim(_ context.Context, zender, ref string, sum [32]byte) (Claim, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep()
	k := [2]string{zender, ref}
	if e, ok := m.claims[k]; ok {
		if e.sum == sum {
			return ClaimResend, nil
		}
		return ClaimTaken, nil
	}
	m.claims[k] = claimEntry{sum: sum, at: m.now()}
	return ClaimNew, nil
}

// Release implements Refs.
func (m *MemoryRefs) Release(_ context.Context, zender, ref string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.claims, [2]string{zender, ref})
	return nil
}

// AddDi01 implements Refs.
func (m *MemoryRefs) AddDi01(_ context.Context, ref, ontvanger string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.di01[ref] = di01Entry{ontvanger: ontvanger, at: m.now()}
	return nil
}

// Di01 implements Refs.
func (m *MemoryRefs) Di01(_ context.Context, ref string) (string, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.di01[ref]
	if !ok || m.now().Sub(e.at) > m.retention {
		return "", false, nil
	}
	return e.ontvanger, true, nil
}

// BindMessage implements Refs.
func (m *MemoryRefs) BindMessage(_ context.Context, id, ref string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.byID[id] = di01Entry{ontvanger: ref, at: m.now()}
	return nil
}

// MessageRef implements Refs.
func (m *MemoryRefs) MessageRef(_ context.Context, id string) (string, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.byID[id]
	if !ok || m.now().Sub(e.at) > m.retention {
		return "", false, nil
	}
	return e.ontvanger, true, nil
}

// sweep drops expired entries, at most once an hour (amortised).
func (m *MemoryRefs) sweep() {
	now := m.now()
	if now.Sub(m.swept) < time.Hour {
		return
	}
	m.swept = now
	for k, e := range m.claims {
		if now.Sub(e.at) > m.retention {
			delete(m.claims, k)
		}
	}
	for _, tab := range []map[string]di01Entry{m.di01, m.byID} {
		for k, e := range tab {
			if now.Sub(e.at) > m.retention {
				delete(tab, k)
			}
		}
	}
}

// Di01Recorder is a Refs that records a received Di01 and the message it
// carried in one write (AddDi01 and BindMessage together); StoreRefs is
// one, which saves a synced commit per Di01.
type Di01Recorder interface {
	RecordDi01(ctx context.Context, ref, ontvanger, id string) error
}

// recordDi01 records a received Di01 that the switch stored as message id.
func recordDi01(ctx context.Context, refs Refs, ref, ontvanger, id string) error {
	if r, ok := refs.(Di01Recorder); ok {
		return r.RecordDi01(ctx, ref, ontvanger, id)
	}
	return errors.Join(refs.AddDi01(ctx, ref, ontvanger), refs.BindMessage(ctx, id, ref))
}

// StoreRefs is the Refs of a running switch: kept in the store, synced
// before the Bv03 answer, so the uniqueness of (zender, referentienummer)
// and the Di01s a Du01 may answer survive a restart, for the store's
// MetadataRetention.
type StoreRefs struct{ S store.RefStore }

var _ Refs = StoreRefs{}

// Claim implements Refs.
func (r StoreRefs) Claim(ctx context.Context, zender, ref string, sum [32]byte) (Claim, error) {
	c, err := r.S.ClaimRef(ctx, zender, ref, sum)
	if err != nil {
		return 0, err
	}
	switch c {
	case store.RefResend:
		return ClaimResend, err
	case store.RefTaken:
		return ClaimTaken, err
	}
	return ClaimNew, nil
}

// Release implements Refs.
func (r StoreRefs) Release(ctx context.Context, zender, ref string) error {
	return r.S.ReleaseRef(ctx, zender, ref)
}

// AddDi01 implements Refs.
func (r StoreRefs) AddDi01(ctx context.Context, ref, ontvanger string) error {
	return r.S.AddDi01(ctx, ref, ontvanger)
}

// Di01 implements Refs.
func (r StoreRefs) Di01(ctx context.Context, ref string) (string, bool, error) {
	return r.S.Di01(ctx, ref)
}

// BindMessage implements Refs; an id that is not a store id is an error.
func (r StoreRefs) BindMessage(ctx context.Context, id, ref string) error {
	sid, err := store.ParseID(id)
	if err != nil {
		return fmt.Errorf("binding message to Di01: %w", err)
	}
	return r.S.BindMessage(ctx, sid, ref)
}

// RecordDi01 implements Di01Recorder: one synced write.
func (r StoreRefs) RecordDi01(ctx context.Context, ref, ontvanger, id string) error {
	sid, err := store.ParseID(id)
	if err != nil {
		return fmt.Errorf("recording Di01: %w", err)
	}
	return r.S.RecordDi01(ctx, ref, ontvanger, sid)
}

// MessageRef implements Refs; an id that is not a store id has no Di01.
func (r StoreRefs) MessageRef(ctx context.Context, id string) (string, bool, error) {
	sid, err := store.ParseID(id)
	if err != nil {
		return "", false, nil
	}
	return r.S.MessageRef(ctx, sid)
}
