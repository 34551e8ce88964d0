package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// The aanleveringen ledger backs the level-3 rules TR063 and TR074 of the
// 305 and 307 (docs/rules.md): for each aanlevering key the
// StatusAanlevering last received, written in the same commit as the
// message that brought it (Message.Aanleveringen). Keys are HMACs under a
// secret of the deployment (rules.AanleveringKey), so the ledger holds no
// BSN in clear; the store treats them as opaque. An entry lives as long
// as the metadata of the message that wrote it last (MetadataRetention
// after its Ack).

// The values of Aanlevering.Status.
const (
	// StatusDelivered (StatusAanlevering 1) delivers the line.
	StatusDelivered = "1"
	// StatusRemoved (StatusAanlevering 3) removes a line delivered before.
	StatusRemoved = "3"
)

// MaxAanleveringen bounds Message.Aanleveringen: the lines one message
// brings to the ledger in its own commit.
const MaxAanleveringen = 500

// Aanlevering is one StartProduct (305) or StopProduct (307) as the ledger
// sees it: its key and its StatusAanlevering.
type Aanlevering struct {
	// Key identifies the line across messages (rules.AanleveringKey).
	Key [32]byte
	// Status is StatusDelivered or StatusRemoved.
	Status string
}

// Ledger answers the ledger's point look-up, for a check before Put.
// Both the Pebble and the JetStream store are one; storetest holds them
// to the same behaviour.
type Ledger interface {
	// Delivered tells whether the last aanlevering stored under key had
	// StatusDelivered: it was delivered and not removed since. An unknown
	// key, and one whose entry retention removed, is not delivered.
	Delivered(ctx context.Context, key [32]byte) (bool, error)
}

// AanleveringConflict says why the ledger refuses one line of a Put.
type AanleveringConflict uint8

// The conflicts of a line with the ledger.
const (
	// AlreadyDelivered (TR074, 9074): the line delivers a key that is
	// delivered already.
	AlreadyDelivered AanleveringConflict = iota + 1
	// NotDelivered (TR063, 9063): the line removes a key that is not
	// delivered: no earlier aanlevering, or removed already.
	NotDelivered
)

// String returns "already-delivered" or "not-delivered".
func (c AanleveringConflict) String() string {
	switch c {
	case AlreadyDelivered:
		return "already-delivered"
	case NotDelivered:
		return "not-delivered"
	}
	return fmt.Sprintf("conflict(%d)", uint8(c))
}

// AanleveringRefusal is one line of a Put the ledger refuses.
type AanleveringRefusal struct {
	// Line is the line's index in Message.Aanleveringen.
	Line     int
	Conflict AanleveringConflict
}

// AanleveringError is a Put refused because lines of its
// Message.Aanleveringen conflict with the ledger; nothing was stored. It
// lists every refused line, in order, and matches ErrAanlevering.
type AanleveringError struct {
	Refused []AanleveringRefusal
}

func (e *AanleveringError) Error() string {
	parts := make([]string, len(e.Refused))
	for i, r := range e.Refused {
		parts[i] = "line " + strconv.Itoa(r.Line) + " " + r.Conflict.String()
	}
	return "store: aanleveringen conflict with the ledger: " + strings.Join(parts, ", ")
}

// Is makes errors.Is(err, ErrAanlevering) true.
func (e *AanleveringError) Is(target error) bool { return target == ErrAanlevering }

// CheckAanleveringen reports Message.Aanleveringen a store cannot take:
// more than MaxAanleveringen, or a status other than StatusDelivered or
// StatusRemoved (ErrInvalid). Every backend's Put checks them so.
func CheckAanleveringen(as []Aanlevering) error {
	if len(as) > MaxAanleveringen {
		return fmt.Errorf("%d aanleveringen, at most %d: %w", len(as), MaxAanleveringen, ErrInvalid)
	}
	for i, a := range as {
		if a.Status != StatusDelivered && a.Status != StatusRemoved {
			return fmt.Errorf("aanlevering %d has status %q, want %q or %q: %w", i, a.Status, StatusDelivered, StatusRemoved, ErrInvalid)
		}
	}
	return nil
}

// PlanLedger applies a message's aanleveringen, in order, to the ledger's
// state as read: delivered tells whether a key is delivered now. It
// returns each distinct key's status after the message, in the order the
// keys first appear, or the *AanleveringError of the lines the ledger
// refuses. A key repeated within the message sees the lines before it.
// Backends share it, so they refuse alike.
func PlanLedger(as []Aanlevering, delivered func(key [32]byte) (bool, error)) ([]Aanlevering, error) {
	state := make(map[[32]byte]int, len(as)) // key → index in out
	var out []Aanlevering
	var refused []AanleveringRefusal
	for i, a := range as {
		j, seen := state[a.Key]
		var now bool
		if seen {
			now = out[j].Status == StatusDelivered
		} else {
			d, err := delivered(a.Key)
			if err != nil {
				return nil, err
			}
			now = d
			j = len(out)
			state[a.Key] = j
			out = append(out, Aanlevering{Key: a.Key})
			if d {
				out[j].Status = StatusDelivered
			} else {
				out[j].Status = StatusRemoved
			}
		}
		switch {
		case a.Status == StatusDelivered && now:
			refused = append(refused, AanleveringRefusal{Line: i, Conflict: AlreadyDelivered})
		case a.Status == StatusRemoved && !now:
			refused = append(refused, AanleveringRefusal{Line: i, Conflict: NotDelivered})
		default:
			out[j].Status = a.Status
		}
	}
	if len(refused) > 0 {
		return nil, &AanleveringError{Refused: refused}
	}
	return out, nil
}
