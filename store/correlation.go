package store

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
)

// UUID is a 128-bit identifier in the form RFC 9562 writes it
// (8-4-4-4-12 hex digits). VECOZO's exchange API names messages by UUIDs;
// an ID is 128 bits as well, laid out as a UUIDv7, so every ID is also a
// UUID (IDUUID).
type UUID [16]byte

// String returns u in lower-case 8-4-4-4-12 form.
func (u UUID) String() string {
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return string(b[:])
}

// IsZero reports whether u is the nil UUID.
func (u UUID) IsZero() bool { return u == UUID{} }

// ParseUUID reads the 8-4-4-4-12 form, in either case; anything else is
// ErrInvalid.
func ParseUUID(s string) (UUID, error) {
	var u UUID
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return u, fmt.Errorf("uuid: not in 8-4-4-4-12 form: %w", ErrInvalid)
	}
	var digits [32]byte
	copy(digits[0:8], s[0:8])
	copy(digits[8:12], s[9:13])
	copy(digits[12:16], s[14:18])
	copy(digits[16:20], s[19:23])
	copy(digits[20:], s[24:])
	if _, err := hex.Decode(u[:], digits[:]); err != nil {
		return UUID{}, fmt.Errorf("uuid: not hexadecimal: %w", ErrInvalid)
	}
	return u, nil
}

// IDUUID is id as a UUID: the same 128 bits.
func IDUUID(id ID) UUID { return UUID(id) }

// Correlation is how a client of VECOZO's exchange API names a message it
// sends and links it to others. The sender chooses all four.
type Correlation struct {
	// Traceer (traceerId) names this message; it is unique.
	Traceer UUID
	// Conversatie (conversatieId) is shared by a heenbericht and its
	// answers.
	Conversatie UUID
	// AlsAntwoordOp is the traceerId of the message this one answers; zero
	// for a heenbericht.
	AlsAntwoordOp UUID
	// ReferentieID is the sender's own reference, at most
	// MaxReferentieIDLen bytes; may be empty.
	ReferentieID string
	// Verwerkingscontext is the sender's processing context for the
	// recipient (key/value pairs), kept as the bytes the front door gives
	// (JSON) and handed on unread; at most MaxVerwerkingscontextLen bytes;
	// may be empty.
	Verwerkingscontext []byte
}

// MaxVerwerkingscontextLen bounds Correlation.Verwerkingscontext.
const MaxVerwerkingscontextLen = 64 << 10

// MaxReferentieIDLen bounds Correlation.ReferentieID, as the exchange API
// does.
const MaxReferentieIDLen = 150

// Check reports a correlation the store cannot keep: a zero traceerId or
// conversatieId, a referentieId that is too long or holds NUL, or a
// verwerkingscontext that is too long.
func (c Correlation) Check() error {
	var errs []error
	if c.Traceer.IsZero() {
		errs = append(errs, errors.New("traceerId is the nil UUID"))
	}
	if c.Conversatie.IsZero() {
		errs = append(errs, errors.New("conversatieId is the nil UUID"))
	}
	if c.ReferentieID != "" {
		if err := CheckField("referentieId", c.ReferentieID, MaxReferentieIDLen); err != nil {
			errs = append(errs, err)
		}
	}
	if len(c.Verwerkingscontext) > MaxVerwerkingscontextLen {
		errs = append(errs, fmt.Errorf("verwerkingscontext is %d bytes, at most %d", len(c.Verwerkingscontext), MaxVerwerkingscontextLen))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("correlation: %w: %w", err, ErrInvalid)
	}
	return nil
}

// CorrelationStore finds messages by the ids a client of VECOZO's exchange
// API gave them (Message.Correlation), so that the sender can follow them
// by its own traceerId and conversatieId, and the recipient sees the ids
// the sender chose. The indexes live as long as message metadata
// (MetadataRetention). Both the Pebble and the JetStream store are one;
// storetest.RunCorrelations holds them to the same behaviour.
type CorrelationStore interface {
	// Correlation returns the correlation message id was stored with;
	// false when it came without, or is unknown.
	Correlation(ctx context.Context, id ID) (Correlation, bool, error)
	// ByTraceer returns the message a traceerId names; false when none.
	ByTraceer(ctx context.Context, traceer UUID) (ID, bool, error)
	// ByConversatie returns the first message stored with a
	// conversatieId; false when none.
	ByConversatie(ctx context.Context, conversatie UUID) (ID, bool, error)
}
