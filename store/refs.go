package store

import (
	"context"
)

// MaxRefLen bounds a reference number and a zender code in the reference
// tables (a StUF Refnummer has at most 40 characters).
const MaxRefLen = 64

// RefStore is the reference-number side of a backend, which the StUF-GGk
// front door keeps its Bv03 uniqueness and Di01/Du01 correlation in: both
// the Pebble and the JetStream store are one, and storetest.RunRefs holds
// them to the same behaviour.
type RefStore interface {
	ClaimRef(ctx context.Context, zender, ref string, sum [32]byte) (RefClaim, error)
	ReleaseRef(ctx context.Context, zender, ref string) error
	AddDi01(ctx context.Context, ref, ontvanger string) error
	Di01(ctx context.Context, ref string) (string, bool, error)
	BindMessage(ctx context.Context, id ID, ref string) error
	RecordDi01(ctx context.Context, ref, ontvanger string, id ID) error
	MessageRef(ctx context.Context, id ID) (string, bool, error)
}

// RefClaim is the outcome of ClaimRef.
type RefClaim int

// Outcomes of ClaimRef.
const (
	// RefNew: the pair was free and is now held for this payload.
	RefNew RefClaim = iota
	// RefResend: the pair holds the same payload (same digest).
	RefResend
	// RefTaken: the pair holds another payload.
	RefTaken
)
