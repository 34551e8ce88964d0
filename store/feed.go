package store

import (
	"context"
	"fmt"
	"time"
)

// The change feed: every change to a mailbox — a message stored,
// confirmed, quarantined, released — is also written as a feed record in
// the same synced commit, numbered in commit order. What derives from the
// traffic (stuurinformatie, samenloop, the audit trail's record of each
// reception) follows the feed from a position it saves with its own state,
// so a crash loses nothing and a restart counts nothing twice; push
// delivery follows it to wake its workers.

// Op is what a change did.
type Op uint8

// The operations of the feed.
const (
	OpPut        Op = iota + 1 // a message was stored (not an idempotent resend)
	OpAck                      // its recipient confirmed it
	OpQuarantine               // it was quarantined
	OpRelease                  // an operator released it from quarantine
	OpReceived                 // it was received again (an identical resend): a Reception to record, nothing changed
)

var opNames = [...]string{OpPut: "put", OpAck: "ack", OpQuarantine: "quarantine", OpRelease: "release", OpReceived: "received"}

// String returns the operation's name, e.g. "put".
func (o Op) String() string {
	if int(o) < len(opNames) && opNames[o] != "" {
		return opNames[o]
	}
	return fmt.Sprintf("op(%d)", uint8(o))
}

// Change is one record of the feed.
type Change struct {
	// Seq is the change's position: positions increase in commit order,
	// and a follower resumes after the last it handled.
	Seq uint64
	Op  Op
	// At is when the change was committed.
	At time.Time
	ID ID
	// Soort, Sender and Recipient are the message's; Recipient is the
	// mailbox the change happened in.
	Soort, Sender, Recipient string
	// Received, Answers, Size and SHA256 describe the message stored
	// (OpPut only): when it arrived, the heenbericht it answers, its
	// length and digest.
	Received time.Time
	Answers  ID
	Size     int64
	SHA256   [32]byte
	// Reception is who handed the message to the switch (OpPut and
	// OpReceived), on a backend that carries receptions on its feed; nil
	// otherwise.
	Reception *Reception
	// Body is the message of an OpPut when the backend had it at hand
	// (JetStream's records carry it); nil otherwise: read it with Get, as
	// its recipient.
	Body []byte
}

// Feed is a store's ordered, durable change feed.
type Feed interface {
	// Follow calls fn, in order, for every change after position after
	// (0: from the oldest kept), waiting for new ones, until ctx ends
	// (its error is returned), the store closes (ErrClosed) or fn fails
	// (its error is returned).
	Follow(ctx context.Context, after uint64, fn func(Change) error) error
	// Head is the position of the newest change committed: a follower
	// that has handled it has seen everything stored before the call.
	Head(ctx context.Context) (uint64, error)
	// TrimFeed removes the changes up to and including position upTo,
	// which every follower must have handled and saved, and returns how
	// many the feed still holds. A backend whose feed is kept by its own
	// retention (JetStream's stream) trims nothing.
	TrimFeed(ctx context.Context, upTo uint64) (int64, error)
}
