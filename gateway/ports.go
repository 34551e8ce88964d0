package gateway

import (
	"context"
	"crypto/x509"
	"fmt"
	"time"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/store"
)

// The interfaces below are everything the gateway needs from the rest of
// the switch. Implementations report refusals as *Error (with the Kind that
// decides the HTTP status and a stable Code of their own); any other error
// is answered 500 "internal" and logged.

// Principal is an authenticated caller.
type Principal struct {
	// ID is the party code (CBS gemeentecode, AGB code, a
	// samenwerkingsverband's code) or the id of a non-party principal
	// such as an operator.
	ID string
	// Party is true for callers that send and receive messages; a party's
	// mailbox is named by its ID.
	Party bool
	// Operator callers may read the track & trace of every message.
	Operator bool
	// Role is the registry role (gemeente, aanbieder, samenwerkingsverband,
	// operator, auditor, nza) the endpoint × role table is checked against;
	// see roles.go.
	Role string
}

// Parties authenticates callers against the registry. Both methods must be
// safe for concurrent use and cheap: they run on every request.
type Parties interface {
	// ByCertificate returns the principal a verified client certificate
	// belongs to (by fingerprint or subject), or false if none.
	ByCertificate(cert *x509.Certificate) (Principal, bool)
	// ByToken returns the principal of a bearer token, or false if the
	// token is unknown or tokens are not enabled.
	ByToken(token string) (Principal, bool)
	// ActsFor reports whether p is the party code or handles its traffic
	// (a samenwerkingsverband for its gemeenten); track & trace shows a
	// message to the parties that act for its sender or recipient.
	ActsFor(p Principal, code string) bool
}

// Validator checks a message before anything else happens to it.
type Validator interface {
	// Validate checks msg (encoding, well-formedness, berichtsoort, XSD)
	// and returns its header. A refusal is an *Error of KindMalformed or
	// KindInvalid; violations may quote values of the message, so the
	// gateway returns them to the caller but never logs them. When ctx
	// ends, Validate stops soon and returns an error that wraps ctx.Err().
	Validate(ctx context.Context, msg []byte) (bericht.Header, error)
	// ValidateRules is Validate plus the level-2 findings of a valid
	// message (nil when it keeps every rule), and the document tree the
	// rules ran on, which the gateway hands to Store.Put in Message.Tree
	// (nil when there is none). The gateway calls it instead of Validate
	// when an Answerer is configured.
	ValidateRules(ctx context.Context, msg []byte) (h bericht.Header, findings []Finding, tree *bericht.Tree, err error)
}

// Router applies the routing rules of the standard.
type Router interface {
	// Route decides where a validated message sent by p goes. A refusal
	// (spoofing, wrong direction, unknown recipient, retour without its
	// heenbericht, inactive release) is an *Error of KindForbidden or
	// KindUnroutable.
	Route(ctx context.Context, p Principal, h bericht.Header) (Route, error)
}

// Route is a routing decision.
type Route struct {
	// Recipient is the party the message is for: the header's Ontvanger of
	// a heenbericht, the sender of the heenbericht for a retour.
	Recipient string
	// Mailbox is the party whose mailbox receives the message: the
	// Recipient, or the party that handles its traffic (a
	// samenwerkingsverband).
	Mailbox string
	// Heen is the id of the heenbericht a retourbericht or a 325 answers,
	// empty for a heenbericht.
	Heen string
}

// Message is a message on its way into the store. Its store.Message is
// what the store keeps, which the gateway fills in from the header and the
// routing decision (NewMessage): the one message type that crosses from
// the gateway to the store. In it:
//   - Body is the exact bytes received; the store must not retain the
//     slice after Put returns without copying it.
//   - Reception is the audit record of the message's reception. A store
//     that keeps it in the message's own synced commit says so in
//     Receipt.Recorded, and the gateway then appends no record of its own.
//   - Correlation is the ids the sender gave the message on the VSP face,
//     stored with it in the same write. A traceerId that names another
//     message is an *Error of KindConflict (CodeTraceerTaken) and nothing
//     is stored.
//   - Aanleveringen are the lines of a 305 or 307 that the store records
//     in its aanleveringen ledger with the message, in the same write
//     (Aanleveringen.Check gave them). If a message stored since the check
//     conflicts with them, Put stores nothing and returns an
//     *AanleveringenRefused.
//
// The other fields are what the ports read of the message on the way.
type Message struct {
	store.Message
	Header bericht.Header
	// Principal is the authenticated party that posted the message: the
	// header's sender, or a party acting for it.
	Principal string
	Route     Route
	// Tree is the document tree the Validator built of Body (see
	// ValidateRules), passed on so the store side need not parse Body
	// again; nil when the validator gave none.
	Tree *bericht.Tree
	// Refused is, for each of Aanleveringen (same index), the finding the
	// switch answers with when the store refuses that line: TR074 for a
	// line delivered again, TR063 for one removed that was not delivered.
	Refused []Finding
}

// NewMessage is the message h, routed to route and posted by principal,
// as the store keeps it: from its sender, in the mailbox routing chose,
// under its own Identificatie (IdentificatieRetour for a retour). The
// store's id of the heenbericht it answers (Answers) is the store port's
// to fill in from Route.Heen, in the store's own id form.
func NewMessage(h bericht.Header, principal string, route Route, body []byte, tree *bericht.Tree, received, validated time.Time) Message {
	ident := h.Identificatie
	if h.Soort.Retour {
		ident = h.IdentificatieRetour
	}
	return Message{
		Message: store.Message{Soort: h.Soort.Name, Sender: h.Sender(), Recipient: route.Mailbox, Identificatie: ident,
			Received: received, Validated: validated, Body: body},
		Header: h, Principal: principal, Route: route, Tree: tree,
	}
}

// Aanlevering is one StartProduct (305) or StopProduct (307) of a message
// as the store's aanleveringen ledger keeps it: a key that names no
// person (an HMAC under a secret of the deployment) and its
// StatusAanlevering.
type Aanlevering struct {
	Key [32]byte
	// Status is "1" (delivers the line) or "3" (removes it).
	Status string
	// Refused is the finding of this line when the store refuses it:
	// TR074 for status 1, TR063 for status 3.
	Refused Finding
}

// Aanleveringen runs the level-3 rules TR063 and TR074 of the 305 and 307
// for the gemeenten whose registry entry asks for it: a line delivered
// (StatusAanlevering 1) is not delivered already, a line removed (3) was
// delivered. Must be safe for concurrent use.
type Aanleveringen interface {
	// Check returns the aanleveringen of m, a heenbericht routed and about
	// to be stored, and the findings of TR063 and TR074 against the
	// ledger the store keeps; neither when m is no 305 or 307 or its
	// recipient does not have the check on. A refusal that is no finding
	// (a message with more lines than the ledger takes at once) is an
	// *Error.
	Check(ctx context.Context, m Message) ([]Aanlevering, []Finding, error)
}

// AanleveringenRefused is the store's refusal of a message whose
// Message.Aanleveringen conflict with its ledger: a message stored since
// Aanleveringen.Check delivered or removed one of its keys. Lines index
// Message.Aanleveringen. Nothing was stored.
type AanleveringenRefused struct {
	Lines []int
}

func (e *AanleveringenRefused) Error() string {
	return fmt.Sprintf("the aanleveringen ledger refuses %d lines of the message", len(e.Lines))
}

// Receipt is the store's answer to Put.
type Receipt struct {
	// ID is the message id: new, or the original one for a resend.
	ID string
	// Duplicate is true when an identical message was stored before; no
	// second copy was delivered.
	Duplicate bool
	// Recorded is true when the store kept Message.Record durably with
	// the message.
	Recorded bool
}

// Entry is one message in a mailbox listing.
type Entry struct {
	ID           string
	Berichtsoort string
	Afzender     string // the party that sent it
	Received     time.Time
	Size         int64
	// LeasedUntil is when the message reappears in listings if it is not
	// confirmed; zero when the store does not say.
	LeasedUntil time.Time

	// Pending also fills in the hex SHA-256 of the message, the id of the
	// heenbericht it answers (empty for a heenbericht) and the ids its
	// sender gave it on the VSP face (nil when none); List leaves them
	// empty.
	SHA256      string
	Heen        string
	Correlation *Correlation
}

// Event is one state in the life of a message.
type Event struct {
	// State is one of received, validated, stored, listed, confirmed,
	// retour-received, quarantined, released, expired.
	State string
	At    time.Time
}

// Trace is the track & trace record of one message.
type Trace struct {
	ID            string
	Berichtsoort  string
	Sender        string // the party that sent it (header sender)
	Recipient     string // the party whose mailbox received it
	Identificatie string
	Size          int64
	// SHA256 is the hex SHA-256 of the message as received.
	SHA256 string
	Events []Event
	// Heen is the id of the heenbericht this message answers, if any.
	Heen string
	// Retour is the id of the retourbericht (or 325) that answered this
	// message, if one arrived.
	Retour string
	// Correlation is the ids its sender gave it on the VSP face; nil when
	// it came through another door.
	Correlation *Correlation
}

// Store is the durable store-and-forward. Every method must be safe for
// concurrent use.
type Store interface {
	// Put stores m in its mailbox and returns only once it is synced. An
	// identical resend returns the original id with Duplicate set; the
	// same Identificatie with other content is an *Error of KindConflict
	// carrying the original id.
	Put(ctx context.Context, m Message) (Receipt, error)
	// PutAnswered stores heen, a heenbericht the switch answers itself
	// (routed to SwitchMailbox), confirmed at once, and answer linked to
	// it, in one synced write. A resend returns both receipts with
	// Duplicate set; a heenbericht delivered to its recipient before gets
	// a zero answer receipt; a heenbericht stored before without its
	// answer gets it now (a new answer receipt). Refusals as Put's;
	// neither is stored then.
	PutAnswered(ctx context.Context, heen, answer Message) (heenReceipt, answerReceipt Receipt, err error)
	// List returns up to limit pending messages of mailbox and leases
	// them, so a concurrent List does not return them again until the
	// lease expires.
	List(ctx context.Context, mailbox string, limit int) ([]Entry, error)
	// Pending returns up to limit pending messages of mailbox, oldest
	// first, without leasing them: a message is listed until it is
	// confirmed. Messages under a List lease are left out while it holds.
	Pending(ctx context.Context, mailbox string, limit int) ([]Entry, error)
	// Fetch returns the exact bytes of message id in mailbox; an id that
	// is not in that mailbox is an *Error of KindNotFound.
	Fetch(ctx context.Context, mailbox, id string) ([]byte, error)
	// Ack confirms message id in mailbox. Confirming twice is not an
	// error; an id the mailbox never held is an *Error of KindNotFound.
	Ack(ctx context.Context, mailbox, id string) error
	// Trace returns the history of message id; unknown is KindNotFound.
	Trace(ctx context.Context, id string) (Trace, error)
	// Quarantined lists up to limit quarantined messages of every mailbox
	// in id order, after id after ("" from the start).
	Quarantined(ctx context.Context, after string, limit int) ([]Quarantined, error)
	// Release returns quarantined message id to its mailbox; one that is
	// not quarantined is an *Error of KindNotFound.
	Release(ctx context.Context, id string) error
}

// Check is a readiness check for /readyz, such as "store open" or
// "schemas loaded". It returns nil when ready.
type Check struct {
	Name  string
	Check func(ctx context.Context) error
}

// Correlations finds messages by the ids VECOZO's exchange API names them
// by, for the VSP face (vsp.go); Message.Correlation stores them. Ids are
// UUIDs in 8-4-4-4-12 form, lower case.
type Correlations interface {
	// Correlation returns the ids message id was stored with; false when
	// it came in without (through another door) or is unknown.
	Correlation(ctx context.Context, id string) (Correlation, bool, error)
	// ByTraceer returns the message a traceerId names: one stored with it,
	// else the message whose id is that UUID (UUID); false when the
	// traceerId can name no message.
	ByTraceer(ctx context.Context, traceer string) (string, bool, error)
	// ByConversatie returns the first message stored with a
	// conversatieId, else the message whose id is that UUID.
	ByConversatie(ctx context.Context, conversatie string) (string, bool, error)
	// UUID writes message id as a UUID: the traceerId of a message that
	// came in without one. Message ids are 128 bits, so nothing is lost.
	UUID(id string) string
	// ID is the message id a UUID writes (the inverse of UUID); it may
	// name no message.
	ID(uuid string) string
}

// Correlation is the referentiegegevens of one message on the VSP face.
type Correlation struct {
	Traceer       string
	Conversatie   string
	AlsAntwoordOp string // empty for a heenbericht
	ReferentieID  string // the sender's own reference; may be empty
	// Verwerkingscontext is the sender's key/value pairs for the
	// recipient: a JSON array of SleutelWaardePaar, handed on as it is;
	// empty when none.
	Verwerkingscontext []byte
}

// CorrelationOf is the face's form of a correlation the store keeps; nil
// for nil.
func CorrelationOf(c *store.Correlation) *Correlation {
	if c == nil {
		return nil
	}
	out := &Correlation{Traceer: c.Traceer.String(), Conversatie: c.Conversatie.String(), ReferentieID: c.ReferentieID,
		Verwerkingscontext: c.Verwerkingscontext}
	if !c.AlsAntwoordOp.IsZero() {
		out.AlsAntwoordOp = c.AlsAntwoordOp.String()
	}
	return out
}

// stored is c as the store keeps it; nil for nil. The face checked the
// UUIDs already, so a bad one is a malformed request all the same.
func (c *Correlation) stored() (*store.Correlation, error) {
	if c == nil {
		return nil, nil
	}
	sc := store.Correlation{ReferentieID: c.ReferentieID, Verwerkingscontext: c.Verwerkingscontext}
	for _, f := range []struct {
		to       *store.UUID
		from     string
		optional bool
	}{{&sc.Traceer, c.Traceer, false}, {&sc.Conversatie, c.Conversatie, false}, {&sc.AlsAntwoordOp, c.AlsAntwoordOp, true}} {
		if f.from == "" && f.optional {
			continue
		}
		u, err := store.ParseUUID(f.from)
		if err != nil {
			return nil, &Error{Kind: KindMalformed, Code: CodeBadRequest, Message: "not a UUID"}
		}
		*f.to = u
	}
	return &sc, nil
}
