// Package store is the durable store-and-forward core of the switch: it
// keeps every accepted message, exactly as received, until its recipient has
// read and confirmed it, and remembers what happened to it for track and
// trace.
//
// This package is the contract and holds no backend: the Store interface
// and its types, which the rest of the switch uses. store/pebble implements
// it on an embedded Pebble database, store/jetstream on a NATS JetStream
// cluster, and the contract tests in store/storetest hold both to the same
// behaviour.
//
// # Guarantees
//
//   - Durability. Put, List, Ack and Release return only after their writes
//     are committed with fsync. No method reports success for data a crash
//     can take away. Concurrent calls share one fsync (group commit).
//   - Atomicity. A message, its metadata and every index are written in one
//     batch: after a crash a message is either wholly present or absent.
//   - Dedup (TR056, VECOZO BRS20). A message is identified by its sending
//     party, berichtsoort and Identificatie. A resend with the same bytes
//     returns the original id; different bytes under the same key fail with
//     a *DuplicateError.
//   - Aanleveringen (TR063, TR074). A message's Aanleveringen are checked
//     against the ledger and recorded in the commit that stores it, so of
//     two messages delivering one line exactly one is stored (ledger.go).
//   - At-least-once delivery. List leases what it returns for the visibility
//     timeout, so concurrent pollers of one mailbox never both receive a
//     message; an unconfirmed message becomes visible again when its lease
//     expires, and after MaxDeliveries deliveries it is quarantined (kept,
//     listable by operators, releasable), never dropped.
//   - Retention. A confirmed message's payload is removed PayloadRetention
//     after the Ack, its metadata MetadataRetention after the Ack.
//
// All methods are safe for concurrent use.
package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Store is a durable message store with one mailbox per receiving party.
//
// A party is the code that identifies a gemeente (CBS, 4 digits) or an
// aanbieder (AGB, 8 digits); the store treats it as an opaque non-empty
// string of at most MaxPartyLen bytes without NUL.
type Store interface {
	// Put stores msg and files it in the mailbox of msg.Recipient. It
	// returns once the message is durable. A resend of a stored message
	// (same dedup key, same bytes) returns the original id with
	// Receipt.Duplicate set and is not an error; the same key with other
	// bytes fails with a *DuplicateError. If msg.Answers names a
	// heenbericht, the conversation index and the heenbericht's history
	// (StateRetourReceived) are written in the same batch; an unknown
	// heenbericht fails with ErrNotFound. Invalid fields fail with
	// ErrInvalid.
	Put(ctx context.Context, msg *Message) (Receipt, error)

	// PutAnswered stores heen, a heenbericht the switch answers itself,
	// and answer, its answer, in one synced commit: heen is filed in
	// heen.Recipient's mailbox (the switch's own) confirmed at once, so
	// it is never listed; answer goes to answer.Recipient's mailbox linked
	// to heen as Put links an answer (answer.Answers is set to heen's id).
	// A resend of heen (same key, same bytes) changes nothing and returns
	// both receipts with Duplicate set; when heen was filed in another
	// mailbox before (its recipient answered it), the answer's receipt is
	// zero and nothing is written. Refusals are Put's, for either message;
	// neither is stored then.
	PutAnswered(ctx context.Context, heen, answer *Message) (heenReceipt, answerReceipt Receipt, err error)

	// Lookup finds a message by its dedup key. A retourbericht finds its
	// heenbericht this way (the retour header is a copy of the heen
	// header), and a 325 its 323. It returns ErrNotFound if no message
	// with that key is known (or its metadata has expired).
	Lookup(ctx context.Context, key Key) (*Meta, error)

	// Meta returns the metadata and state history of a message, for
	// operators and track and trace. It returns ErrNotFound for an unknown
	// or expired id.
	Meta(ctx context.Context, id ID) (*Meta, error)

	// Conversation returns the heenbericht of the conversation id belongs
	// to, followed by its answers in arrival order. id may name any
	// message of the conversation. It returns ErrNotFound if id is unknown.
	Conversation(ctx context.Context, id ID) ([]*Meta, error)

	// List returns up to limit (1..MaxListLimit) visible messages of
	// party's mailbox in arrival order and leases them for the visibility
	// timeout. An empty mailbox gives an empty slice and no error. A
	// message delivered MaxDeliveries times without Ack is quarantined
	// instead of being returned again.
	List(ctx context.Context, party string, limit int) ([]Entry, error)

	// Pending returns up to limit (1..MaxListLimit) messages of party's
	// mailbox in arrival order, oldest first, without leasing them or
	// counting a delivery: a message stays pending until it is confirmed.
	// A message under another caller's lease (List) is left out, so that
	// List's pollers keep the message to themselves while the lease
	// holds. Quarantined messages are not in the mailbox, nor is one that
	// List delivered MaxDeliveries times: List quarantines it on its next
	// call. Like List, it looks at a bounded number of entries per call.
	Pending(ctx context.Context, party string, limit int) ([]Entry, error)

	// Mailbox summarises party's mailbox for operators: the messages not
	// yet confirmed, how many of them are under a lease, and when the
	// oldest arrived. It reads at most MaxMailboxScan entries; past that,
	// Partial is set and the counts are lower bounds. An empty or unknown
	// mailbox gives a zero summary and no error.
	Mailbox(ctx context.Context, party string) (MailboxSummary, error)

	// Get returns the message bytes exactly as received. Only the mailbox
	// owner may read them: a message of another mailbox gives ErrNotFound,
	// as does an unknown id; a message whose payload was removed by
	// retention gives ErrExpired.
	Get(ctx context.Context, party string, id ID) ([]byte, error)

	// Ack confirms receipt of a message in party's mailbox; it will not be
	// listed again. Ack is idempotent: confirming a confirmed message
	// succeeds. A message of another mailbox gives ErrNotFound. A
	// quarantined message may be confirmed as well.
	Ack(ctx context.Context, party string, id ID) error

	// Quarantined lists quarantined messages of all mailboxes in id order,
	// starting after the id after (the zero ID starts at the beginning),
	// up to limit (1..MaxListLimit).
	Quarantined(ctx context.Context, after ID, limit int) ([]Entry, error)

	// Quarantine moves a message of party's mailbox to quarantine at once,
	// leased or not, with reason (a short code, at most MaxReasonLen
	// bytes, never content), as delivery does when a push has failed for
	// good. A message not in party's mailbox gives ErrNotFound; one
	// quarantined already is left as it is.
	Quarantine(ctx context.Context, party string, id ID, reason string) error

	// Release moves a quarantined message back into its mailbox with its
	// delivery count reset. It returns ErrNotFound if id is not
	// quarantined.
	Release(ctx context.Context, id ID) error

	// Stats returns the current counters.
	Stats() Stats

	// Ready reports whether the store can take writes now, for a
	// readiness probe: nil when it can, an error saying why not
	// otherwise. A backend whose cluster is electing a leader may stay
	// ready for a bounded grace while its writes answer ErrUnavailable.
	Ready(ctx context.Context) error

	// Feed is the ordered, durable change feed every backend keeps.
	Feed

	// Close stops background work, fails pending calls with ErrClosed and
	// closes the store. It is safe to call more than once; later calls
	// return nil. Every other method fails with ErrClosed after Close.
	Close() error
}

// Limits of the API.
const (
	// MaxListLimit is the largest page List, Pending and Quarantined
	// return.
	MaxListLimit = 250
	// MaxPartyLen is the longest party code accepted.
	MaxPartyLen = 64
	// MaxFieldLen is the longest Soort or Identificatie accepted.
	MaxFieldLen = 64
	// MaxMailboxScan bounds the entries one Mailbox call reads, so that
	// summarising a flooded mailbox stays cheap.
	MaxMailboxScan = 100_000
	// MaxReasonLen bounds the reason given to Quarantine.
	MaxReasonLen = 64
)

// MailboxSummary is what Mailbox reports of one mailbox: enough for an
// operator to see a backlog, a stuck poller or a party that stopped
// polling, without listing the messages.
type MailboxSummary struct {
	Pending int64     // messages in the mailbox, not yet confirmed (leased ones included; quarantined ones not)
	Leased  int64     // of those, under a lease from List now
	Oldest  time.Time // arrival of the oldest pending message (its id's time); zero when none
	Partial bool      // the scan stopped at MaxMailboxScan: the counts are lower bounds
}

// Message is what the gateway hands to Put: a validated message with the
// header facts the store indexes.
type Message struct {
	// Soort is the berichtsoort name, e.g. "WMO301". Required.
	Soort string
	// Sender is the party that sent the message (bericht.Header.Sender).
	// Required.
	Sender string
	// Recipient is the party whose mailbox receives the message
	// (bericht.Header.Recipient). Required.
	Recipient string
	// Identificatie is the message's own identification: the header's
	// Identificatie, or IdentificatieRetour for a retourbericht. With
	// Sender and Soort it forms the dedup key. Required.
	Identificatie string
	// Received is when the gateway received the message; zero means now.
	Received time.Time
	// Validated is when validation finished; zero means the store records
	// no separate validated event.
	Validated time.Time
	// Answers is the id of the heenbericht (or the 323) this message
	// answers, found with Lookup; the zero ID for a heenbericht.
	Answers ID
	// Body is the message exactly as received. Required, non-empty. The
	// store does not keep a reference after Put returns.
	Body []byte
	// SHA256, if not zero, is the SHA-256 of Body, computed by a caller
	// that needed it anyway; the store uses it instead of hashing Body a
	// second time. It must be right: dedup compares it.
	SHA256 [32]byte
	// Reception, if set, is who handed the message to the switch, for
	// the audit trail's record of it. A backend that carries receptions
	// on its feed (the Pebble store) writes it in the change of the
	// message's own commit (for an identical resend, an OpReceived change
	// of its own), so the record is exactly as durable as the message;
	// the trail follows the feed. Other backends ignore it.
	Reception *Reception
	// Correlation, if set, is the ids a client of VECOZO's exchange API
	// gave the message. It is kept in the message's record, in the same
	// commit, and its traceerId and conversatieId are indexed
	// (CorrelationStore). A traceerId that already names another message
	// fails the Put with ErrTraceerTaken and stores nothing. An identical
	// resend under another traceerId adds that traceerId to the index
	// (the original keeps its first correlation).
	Correlation *Correlation
	// Aanleveringen, if set, are the StartProducten (305) or StopProducten
	// (307) of the message for the aanleveringen ledger (ledger.go), in
	// the order of the message: Put checks and records them atomically
	// with the message. A line that delivers a key delivered already, or
	// removes one that is not, fails the Put with an *AanleveringError
	// naming every such line, and nothing is stored; otherwise each key's
	// new status is written in the message's own commit. An identical
	// resend is a duplicate and changes nothing. PutAnswered ignores
	// them: a heenbericht the switch answers is never delivered. At most
	// MaxAanleveringen.
	Aanleveringen []Aanlevering
}

// Reception is who handed a message to the switch and when: the audit
// trail's "received" record of it, without the message's id.
type Reception struct {
	At time.Time
	// Principal is the authenticated party that sent it.
	Principal string
	// Remote is the network address it came from; empty when unknown.
	Remote string
}

// MaxReceptionLen bounds a Reception's Principal and Remote together.
const MaxReceptionLen = 1 << 10

// TrailHead is where the audit trail stands, as the store keeps it with
// the trail's follower: the trail's last entry (sequence number and hash)
// and the position in the feed up to which the trail holds every
// reception. A trail that later ends before Seq, or differs there, was cut
// off, deleted or replaced.
type TrailHead struct {
	Seq  uint64
	Hash string
	Feed uint64
}

// Key is the dedup key of a message: TR056 requires an Identificatie to be
// unique per sending party and berichtsoort.
type Key struct {
	Sender        string
	Soort         string
	Identificatie string
}

// Key returns the dedup key of m.
func (m *Message) Key() Key {
	return Key{Sender: m.Sender, Soort: m.Soort, Identificatie: m.Identificatie}
}

// Receipt is the result of a successful Put.
type Receipt struct {
	// ID identifies the stored message; for a duplicate, the original's.
	ID ID
	// Duplicate is true if the message was already stored with the same
	// bytes: the resend was accepted idempotently and nothing was written.
	Duplicate bool
}

// Entry is a mailbox listing line: enough for a poller to decide what to
// Get, without the payload.
type Entry struct {
	ID        ID
	Soort     string
	Sender    string
	Recipient string
	Received  time.Time
	Size      int64
	// Deliveries counts how often List has returned the message, this
	// delivery included.
	Deliveries int

	// Pending also fills in what a listing that names each message by its
	// checksum and conversation shows (VECOZO's pull); List leaves them
	// zero.
	SHA256       [32]byte
	Conversation ID           // the heenbericht of its conversation: its own id for a heenbericht
	Correlation  *Correlation // as Message.Correlation; nil when it came without
}

// Meta is everything the store knows about a message except its bytes.
type Meta struct {
	ID            ID
	Soort         string
	Sender        string
	Recipient     string
	Identificatie string
	Received      time.Time
	Size          int64
	SHA256        [32]byte
	// Conversation is the id of the heenbericht of the conversation: the
	// message's own id for a heenbericht.
	Conversation ID
	// Correlation is Message.Correlation; nil when it came without.
	Correlation *Correlation
	// State is the latest state in History.
	State State
	// History lists what happened to the message in time order.
	History []Event
}

// Event is one step of a message's history.
type Event struct {
	State State
	At    time.Time
	// Ref names the other message involved: for StateRetourReceived the
	// answer's id.
	Ref ID
}

// State is a step in a message's life, recorded in its history.
type State uint8

// The states of a message. A message moves received → validated → stored,
// then listed (each List) until confirmed; a heenbericht also records
// retour received when its answer arrives; a message delivered too often is
// quarantined until released; a confirmed message's payload expires.
const (
	StateReceived       State = iota + 1 // the gateway received the bytes
	StateValidated                       // validation passed
	StateStored                          // durably stored in the mailbox
	StateListed                          // returned by List (leased); its body may be read any number of times
	StateConfirmed                       // acknowledged by the recipient
	StateRetourReceived                  // its answer (retour or 325) arrived
	StateQuarantined                     // delivered MaxDeliveries times without ack
	StateReleased                        // released from quarantine by an operator
	StateExpired                         // payload removed by retention
)

var stateNames = [...]string{
	StateReceived:       "received",
	StateValidated:      "validated",
	StateStored:         "stored",
	StateListed:         "listed",
	StateConfirmed:      "confirmed",
	StateRetourReceived: "retour-received",
	StateQuarantined:    "quarantined",
	StateReleased:       "released",
	StateExpired:        "expired",
}

// String returns the state's lower-case name, e.g. "confirmed".
func (s State) String() string {
	if int(s) < len(stateNames) && stateNames[s] != "" {
		return stateNames[s]
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// Stats are the store's counters. Pending and Quarantined are persisted and
// survive restarts; the others count since Open.
type Stats struct {
	Pending     int64 // messages in mailboxes, not yet confirmed
	Quarantined int64 // messages in quarantine
	Puts        int64 // messages stored since Open
	Duplicates  int64 // idempotent resends since Open
	Conflicts   int64 // same key, other bytes, since Open
	Deliveries  int64 // messages returned by List since Open
	Acks        int64 // first confirmations since Open
	Commits     int64 // synced commits since Open
	Expired     int64 // payloads removed by retention since Open
	Purged      int64 // metadata removed by retention since Open
}

// Errors of the store. Test for them with errors.Is; Code gives the stable
// code to show to clients.
var (
	// ErrClosed is returned by every method after Close.
	ErrClosed = errors.New("store: closed")
	// ErrNotFound means no such message (in this mailbox).
	ErrNotFound = errors.New("store: message not found")
	// ErrExpired means the message's payload was removed by retention.
	ErrExpired = errors.New("store: message payload expired")
	// ErrInvalid means an argument is missing or malformed.
	ErrInvalid = errors.New("store: invalid argument")
	// ErrDuplicate is matched by every *DuplicateError.
	ErrDuplicate = errors.New("store: duplicate message")
	// ErrForeignDir means Open found a directory that is not a store of
	// this kind; it is left untouched.
	ErrForeignDir = errors.New("store: directory holds no knooppunt store")
	// ErrCorrupt means stored data could not be decoded.
	ErrCorrupt = errors.New("store: corrupt data")
	// ErrLocked means another process has the store open.
	ErrLocked = errors.New("store: in use")
	// ErrTraceerTaken means a Put's Correlation names a traceerId that
	// already names another message; nothing was stored.
	ErrTraceerTaken = errors.New("store: traceerId names another message")
	// ErrAanlevering is matched by every *AanleveringError: a Put's
	// Aanleveringen conflict with the ledger; nothing was stored.
	ErrAanlevering = errors.New("store: aanleveringen conflict with the ledger")
	// ErrUnavailable means the store cannot answer right now — a shared
	// store's cluster has no leader or quorum, or does not answer — and
	// nothing was done: the same call may succeed later.
	ErrUnavailable = errors.New("store: unavailable")
)

// DuplicateError reports a message whose dedup key is taken by a message
// with other bytes (TR056). It matches ErrDuplicate.
type DuplicateError struct {
	Key      Key
	Original ID // the id of the message stored first under Key
}

func (e *DuplicateError) Error() string {
	return fmt.Sprintf("store: duplicate message: identificatie already used by %s with other content", e.Original)
}

// Is makes errors.Is(err, ErrDuplicate) true.
func (e *DuplicateError) Is(target error) bool { return target == ErrDuplicate }

// Code returns the stable code of a store error, for clients and logs:
// "closed", "not-found", "expired", "invalid", "duplicate", "foreign-dir",
// "corrupt", "unavailable", "locked", "traceer-taken", "aanlevering", or
// "internal" for anything else (nil gives "").
func Code(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrClosed):
		return "closed"
	case errors.Is(err, ErrNotFound):
		return "not-found"
	case errors.Is(err, ErrExpired):
		return "expired"
	case errors.Is(err, ErrInvalid):
		return "invalid"
	case errors.Is(err, ErrDuplicate):
		return "duplicate"
	case errors.Is(err, ErrForeignDir):
		return "foreign-dir"
	case errors.Is(err, ErrCorrupt):
		return "corrupt"
	case errors.Is(err, ErrUnavailable):
		return "unavailable"
	case errors.Is(err, ErrTraceerTaken):
		return "traceer-taken"
	case errors.Is(err, ErrAanlevering):
		return "aanlevering"
	case errors.Is(err, ErrLocked):
		return "locked"
	}
	return "internal"
}

// CheckField checks a string field a store keeps: not empty, at most
// maxLen bytes, no NUL. what names the field in the error, which wraps
// ErrInvalid.
func CheckField(what, v string, maxLen int) error {
	switch {
	case v == "":
		return fmt.Errorf("%s is empty: %w", what, ErrInvalid)
	case len(v) > maxLen:
		return fmt.Errorf("%s is %d bytes, at most %d: %w", what, len(v), maxLen, ErrInvalid)
	case strings.IndexByte(v, 0) >= 0:
		return fmt.Errorf("%s contains NUL: %w", what, ErrInvalid)
	}
	return nil
}

// CheckLimit checks the page size asked of List, Pending or Quarantined:
// 1..MaxListLimit. The error wraps ErrInvalid.
func CheckLimit(limit int) error {
	if limit < 1 || limit > MaxListLimit {
		return fmt.Errorf("limit %d outside 1..%d: %w", limit, MaxListLimit, ErrInvalid)
	}
	return nil
}
