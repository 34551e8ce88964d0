package routing

import (
	"context"
	"fmt"

	"github.com/knooppunt/knooppunt/bericht"
)

// HeenKey identifies the heenbericht an answer refers to. TR056 makes
// Identificatie unique per berichtsoort per sender, so Sender, Berichtsoort
// and Identificatie find it. Dagtekening is for information: do not match on
// it, the published example retourberichten carry another Dagtekening than
// their heenbericht.
type HeenKey struct {
	// Sender is the code of the party that sent the heenbericht (its
	// header's Afzender).
	Sender string
	// Berichtsoort is the heenbericht's berichtsoort: "WMO301", "JW323".
	Berichtsoort  string
	Identificatie string
	Dagtekening   string
}

// HeenRef is what Route needs to know of a stored heenbericht.
type HeenRef struct {
	// ID is the switch's id of the heenbericht.
	ID string
	// Sender is the party code of its header's Afzender, not the
	// principal that posted it: an answer goes to the mailbox that handles
	// Sender today.
	Sender string
	// Recipient is the party code of its header's Ontvanger, or the
	// mailbox it was delivered to (Decision.Mailbox, which is what the
	// store records). Only that party may answer it.
	Recipient string
}

// HeenLookup finds a heenbericht in the caller's store. It reports false
// when there is none; an error means the store failed and the message
// should be retried, not refused.
type HeenLookup func(ctx context.Context, key HeenKey) (HeenRef, bool, error)

// Decision is where a message goes.
type Decision struct {
	Soort bericht.Soort
	// Sender is the party code the message is from (Header.Sender).
	Sender string
	// Recipient is the party code the message is for.
	Recipient string
	// Mailbox is the party whose mailbox receives the message: Recipient,
	// or the samenwerkingsverband that handles it.
	Mailbox string
	// HeenID is the id of the heenbericht a retourbericht or 325 answers;
	// empty for a heenbericht.
	HeenID string
	// OnBehalf is true when a samenwerkingsverband sends for Sender.
	OnBehalf bool
}

// Route applies the routing rules of the standard to a message with header
// h sent by the authenticated principal p. Answers (retourberichten and the
// 325) go back to the sender of their heenbericht, which heen finds; a
// heenbericht goes to the header's Ontvanger. A refusal is an *Error; an
// error of heen is returned wrapped. p is matched by ID, so a principal
// authenticated just before a reload is judged by the registry routing it.
//
// A message that breaks several rules gets the code of the first check:
// not-a-party, sender-inactive, bad-header, wrong-direction,
// sender-mismatch, release-inactive (registry and sender),
// retour-without-heen, unknown-recipient, recipient-inactive,
// release-inactive (recipient).
func (r *Registry) Route(ctx context.Context, p *Principal, h bericht.Header, heen HeenLookup) (Decision, error) {
	s := h.Soort
	if p != nil {
		p = r.principals[p.ID]
	}
	switch {
	case p == nil || !p.Role.IsParty():
		return Decision{}, refuse(CodeNotAParty, "only gemeenten, aanbieders and samenwerkingsverbanden send messages")
	case !p.Active:
		return Decision{}, refuse(CodeSenderInactive, "party %s is not active", p.ID)
	case s.Name == "":
		return Decision{}, refuse(CodeBadHeader, "unknown berichtsoort")
	case h.Afzender == "" || h.Ontvanger == "" || h.Identificatie == "":
		return Decision{}, refuse(CodeBadHeader, "%s header lacks Afzender, Ontvanger or Identificatie", s.Name)
	case p.Role.Acts() != s.Sender:
		return Decision{}, refuse(CodeWrongDirection, "%s is sent by %s, not by %s %s", s.Name, Role(s.Sender).withArticle(), p.Role, p.ID)
	}

	d := Decision{Soort: s, Sender: h.Sender(), Recipient: h.Recipient()}
	if !r.MayActFor(p, d.Sender) {
		return Decision{}, refuse(CodeSenderMismatch, "%s %s may not send as %s", p.Role, p.ID, d.Sender)
	}
	d.OnBehalf = p.ID != d.Sender
	sender, _ := r.Party(d.Sender) // exists: p may act for it
	if !sender.Active {
		return Decision{}, refuse(CodeSenderInactive, "party %s is not active", d.Sender)
	}
	if !r.ReleaseActive(s.Standard, s.Release) {
		return Decision{}, refuse(CodeReleaseInactive, "%s %s is not active on this switch", s.Standard, s.Release)
	}
	for _, party := range []*Principal{p, sender} {
		if !r.releaseActiveFor(party, s.Standard, s.Release) {
			return Decision{}, refuse(CodeReleaseInactive, "%s %s is not active for %s", s.Standard, s.Release, party.ID)
		}
	}

	if s.Answers() {
		ref, err := r.findHeen(ctx, p, h, heen)
		if err != nil {
			return Decision{}, err
		}
		d.Recipient, d.HeenID = ref.Sender, ref.ID
	}

	to, ok := r.Party(d.Recipient)
	if !ok || to.Role.Acts() != s.Receiver || to.Role == Samenwerkingsverband {
		return Decision{}, refuse(CodeUnknownRecipient, "no %s %s in the registry", s.Receiver, d.Recipient)
	}
	d.Mailbox, _ = r.MailboxOf(d.Recipient)
	switch box := r.principals[d.Mailbox]; {
	case !to.Active:
		return Decision{}, refuse(CodeRecipientInactive, "party %s is not active", to.ID)
	case !box.Active:
		return Decision{}, refuse(CodeRecipientInactive, "samenwerkingsverband %s, which handles %s, is not active", box.ID, to.ID)
	case !r.releaseActiveFor(to, s.Standard, s.Release) || !r.releaseActiveFor(box, s.Standard, s.Release):
		return Decision{}, refuse(CodeReleaseInactive, "%s %s is not active for %s", s.Standard, s.Release, to.ID)
	}
	return d, nil
}

// findHeen looks up the heenbericht an answer refers to and checks that it
// was sent to the party answering, p, which may act for the answer's
// sender. A heenbericht sent to someone else is reported as unknown, so an
// answer reveals nothing of other parties' traffic.
func (r *Registry) findHeen(ctx context.Context, p *Principal, h bericht.Header, heen HeenLookup) (HeenRef, error) {
	s := h.Soort
	key := HeenKey{Sender: h.Afzender, Berichtsoort: s.Pair, Identificatie: h.Identificatie, Dagtekening: h.Dagtekening}
	answerer := h.Ontvanger
	if !s.Retour { // a 325: its own header, referring to the 323
		key = HeenKey{Sender: h.Ontvanger, Berichtsoort: s.Pair, Identificatie: h.DeclaratieIdentificatie, Dagtekening: h.DeclaratieDagtekening}
		answerer = h.Afzender
	}
	missing := func() error {
		return refuse(CodeRetourWithoutHeen, "no %s %s from %s to %s known", key.Berichtsoort, key.Identificatie, key.Sender, answerer)
	}
	if key.Identificatie == "" || heen == nil {
		return HeenRef{}, missing()
	}
	ref, ok, err := heen(ctx, key)
	switch {
	case err != nil:
		return HeenRef{}, fmt.Errorf("looking up %s %s from %s: %w", key.Berichtsoort, key.Identificatie, key.Sender, err)
	case !ok || ref.Sender != key.Sender || !r.receivedBy(ref.Recipient, answerer, p):
		return HeenRef{}, missing()
	}
	return ref, nil
}

// receivedBy reports whether a heenbericht recorded as delivered to
// recipient (a header Ontvanger or a mailbox) reached answerer, the party
// that answers it, or p, the principal answering for it.
func (r *Registry) receivedBy(recipient, answerer string, p *Principal) bool {
	if recipient == answerer || recipient == p.ID {
		return true
	}
	box, ok := r.MailboxOf(answerer)
	return ok && recipient == box
}
