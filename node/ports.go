package node

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/gateway"
	"github.com/knooppunt/knooppunt/insight"
	"github.com/knooppunt/knooppunt/routing"
	"github.com/knooppunt/knooppunt/store"
	"github.com/knooppunt/knooppunt/xsd"
)

// The adapters below connect the gateway's ports to the xsd, routing and
// store packages, translating their errors into gateway errors with the
// owning package's stable code and the kind that decides the HTTP status.

// validatorPort is the gateway's Validator on an xsd.Set.
type validatorPort struct{ set *xsd.Set }

func (v validatorPort) Validate(ctx context.Context, msg []byte) (bericht.Header, error) {
	h, err := v.set.ValidateContext(ctx, msg)
	return h, validationError(err)
}

// validationError translates a refusal of the xsd package (from Validate or
// ValidateTree, which refuse alike) into the gateway's error with xsd's
// stable code; violation texts are the redacted ones. nil stays nil.
func validationError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, xsd.ErrClosed) {
		return &gateway.Error{Kind: gateway.KindUnavailable, Code: gateway.CodeShuttingDown, Message: "the validator is shutting down; retry later", Err: err}
	}
	var xe *xsd.Error
	if !errors.As(err, &xe) {
		return fmt.Errorf("validating: %w", err)
	}
	e := &gateway.Error{Kind: ValidationKind(xe.Code), Code: xe.Code, Message: xe.Detail}
	if e.Kind == gateway.KindInternal {
		e.Err = err
	}
	if e.Message == "" {
		e.Message = "the message was refused: " + xe.Code
	}
	if xe.Omitted > 0 {
		e.Message += fmt.Sprintf(" (%d further violations not listed)", xe.Omitted)
	}
	for _, vi := range xe.Violations {
		e.Violations = append(e.Violations, gateway.Violation{Line: vi.Line, Column: vi.Column, Message: vi.Redacted})
	}
	return e
}

// ValidationKind maps a validator refusal code to the gateway's kind, which
// decides the HTTP status: unreadable input is 400, a message that breaks its
// schema 422.
func ValidationKind(code string) gateway.Kind {
	switch code {
	case xsd.CodeTooLarge:
		return gateway.KindTooLarge
	case xsd.CodeEmpty, xsd.CodeByteOrderMark, xsd.CodeNotUTF8, xsd.CodeDoctype, xsd.CodeNotWellFormed, xsd.CodeNotBericht, xsd.CodeUnknownNS,
		xsd.CodeCharacter, xsd.CodeXMLVersion, xsd.CodeMarkupInRoot, xsd.CodeAfterRoot, xsd.CodeTooManyAttrs, xsd.CodeNameTooLong, xsd.CodeTooDeep, xsd.CodeTooMany:
		return gateway.KindMalformed
	case xsd.CodeInvalid, xsd.CodeBerichtCode, xsd.CodeUnknownRelease, xsd.CodeNotCarried:
		return gateway.KindInvalid
	default:
		return gateway.KindInternal
	}
}

// partiesPort is the gateway's Parties on the registry in force.
type partiesPort struct{ book *routing.Book }

// principalOf is the gateway's view of a registry principal: auditors read
// track & trace like operators.
func principalOf(p *routing.Principal) gateway.Principal {
	return gateway.Principal{
		ID:       p.ID,
		Party:    p.Role.IsParty(),
		Operator: p.Role == routing.Operator || p.Role == routing.Auditor,
		Role:     string(p.Role), // the endpoint × role table: gateway/roles.go
	}
}

// ByCertificate maps a verified client certificate through the registry.
func (pp partiesPort) ByCertificate(cert *x509.Certificate) (gateway.Principal, bool) {
	p, ok := pp.book.Registry().ByCertificate(cert)
	if !ok {
		return gateway.Principal{}, false
	}
	return principalOf(p), true
}

// ByToken maps a bearer token through the registry.
func (pp partiesPort) ByToken(token string) (gateway.Principal, bool) {
	p, ok := pp.book.Registry().ByToken(token)
	if !ok {
		return gateway.Principal{}, false
	}
	return principalOf(p), true
}

// ActsFor: p is the party, or its samenwerkingsverband.
func (pp partiesPort) ActsFor(p gateway.Principal, code string) bool {
	reg := pp.book.Registry()
	rp, ok := reg.Principal(p.ID)
	if !ok || !p.Party {
		return false
	}
	if rp.ID == code {
		return true // its own messages, also while inactive
	}
	return reg.MayActFor(rp, code)
}

// routerPort is the gateway's Router: the routing rules of the registry in
// force, with heenberichten looked up in the store.
type routerPort struct {
	book  *routing.Book
	store store.Store
}

// Route applies routing.Registry.Route with the store as conversation index.
func (rp routerPort) Route(ctx context.Context, p gateway.Principal, h bericht.Header) (gateway.Route, error) {
	reg := rp.book.Registry()
	principal, _ := reg.Principal(p.ID) // nil: Route refuses it
	// The party answering a heenbericht: the retour's header Ontvanger,
	// the 325's Afzender.
	answerer := h.Ontvanger
	if !h.Soort.Retour {
		answerer = h.Afzender
	}
	lookup := func(ctx context.Context, key routing.HeenKey) (routing.HeenRef, bool, error) {
		m, err := rp.store.Lookup(ctx, store.Key{Sender: key.Sender, Soort: key.Berichtsoort, Identificatie: key.Identificatie})
		if errors.Is(err, store.ErrNotFound) {
			return routing.HeenRef{}, false, nil
		}
		if err != nil {
			return routing.HeenRef{}, false, err
		}
		// The store knows the mailbox a heenbericht went to, not its
		// header Ontvanger: a mailbox that handles the answerer (a
		// samenwerkingsverband) stands for it.
		recipient := m.Recipient
		if box, ok := reg.MailboxOf(answerer); ok && box == m.Recipient {
			recipient = answerer
		}
		return routing.HeenRef{ID: m.ID.String(), Sender: m.Sender, Recipient: recipient}, true, nil
	}
	d, err := reg.Route(ctx, principal, h, lookup)
	if err != nil {
		var re *routing.Error
		if errors.As(err, &re) {
			kind := gateway.KindUnroutable
			if re.Code.Status() == 403 {
				kind = gateway.KindForbidden
			}
			return gateway.Route{}, &gateway.Error{Kind: kind, Code: string(re.Code), Message: re.Msg}
		}
		return gateway.Route{}, storeError(err)
	}
	return gateway.Route{Recipient: d.Recipient, Mailbox: d.Mailbox, Heen: d.HeenID}, nil
}

// storePort is the gateway's Store on a store.Store. With receptions set
// the store carries the audit record of each message received on its feed
// (store.Reception), which the node's trailFollower writes into the trail.
// trees, when the products run, holds the tree validation built of each
// message until their follower takes it from the feed.
type storePort struct {
	s          store.Store
	receptions bool
	trees      *insight.Trees
}

// storeError maps a store error to the gateway's kinds.
func storeError(err error) error {
	var dup *store.DuplicateError
	switch {
	case errors.As(err, &dup):
		return &gateway.Error{Kind: gateway.KindConflict, Code: gateway.CodeDuplicateConflict, ID: dup.Original.String(),
			Message: "this Identificatie was used before for a message with other content (TR056)"}
	case errors.Is(err, store.ErrNotFound):
		return &gateway.Error{Kind: gateway.KindNotFound, Code: gateway.CodeNotFound, Message: "no such message for this party"}
	case errors.Is(err, store.ErrExpired):
		return &gateway.Error{Kind: gateway.KindNotFound, Code: store.Code(err), Message: "the message was confirmed and its content has been removed by retention"}
	case errors.Is(err, store.ErrClosed):
		return &gateway.Error{Kind: gateway.KindUnavailable, Code: gateway.CodeShuttingDown, Message: "the store is closing; retry later", Err: err}
	case errors.Is(err, store.ErrUnavailable):
		return &gateway.Error{Kind: gateway.KindUnavailable, Code: gateway.CodeStoreUnavailable, RetryAfter: 1, Err: err,
			Message: "the store cannot take this right now (its cluster is electing a leader or lacks a quorum); retry later (resends are idempotent)"}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &gateway.Error{Kind: gateway.KindUnavailable, Code: gateway.CodeCancelled, Message: "the request ended before the store answered; the outcome is unknown, resend (resends are idempotent)", Err: err}
	}
	return fmt.Errorf("store: %w", err)
}

// parseID turns a path id into a store id; a malformed one names no message.
func parseID(id string) (store.ID, error) {
	sid, err := store.ParseID(id)
	if err != nil {
		return sid, &gateway.Error{Kind: gateway.KindNotFound, Code: gateway.CodeNotFound, Message: "no such message for this party"}
	}
	return sid, nil
}

// Put stores the message the gateway made (gateway.Message's
// store.Message).
func (sp storePort) Put(ctx context.Context, m gateway.Message) (gateway.Receipt, error) {
	msg, held, err := sp.message(m)
	if err != nil {
		return gateway.Receipt{}, err
	}
	rec, err := sp.s.Put(ctx, msg)
	if held && (err != nil || rec.Duplicate) {
		sp.trees.Release(msg.SHA256)
	}
	if err != nil {
		return gateway.Receipt{}, putError(err)
	}
	return gateway.Receipt{ID: rec.ID.String(), Duplicate: rec.Duplicate, Recorded: msg.Reception != nil}, nil
}

// PutAnswered stores a heenbericht the switch answers and its answer in
// one write (store.Store.PutAnswered).
func (sp storePort) PutAnswered(ctx context.Context, heen, answer gateway.Message) (gateway.Receipt, gateway.Receipt, error) {
	hm, held, err := sp.message(heen)
	if err != nil {
		return gateway.Receipt{}, gateway.Receipt{}, err
	}
	am, _, err := sp.message(answer)
	if err != nil {
		return gateway.Receipt{}, gateway.Receipt{}, err
	}
	hr, ar, err := sp.s.PutAnswered(ctx, hm, am)
	if held && (err != nil || hr.Duplicate) {
		sp.trees.Release(hm.SHA256)
	}
	if err != nil {
		return gateway.Receipt{}, gateway.Receipt{}, putError(err)
	}
	out := gateway.Receipt{ID: hr.ID.String(), Duplicate: hr.Duplicate, Recorded: hm.Reception != nil}
	if ar.ID.IsZero() {
		return out, gateway.Receipt{}, nil
	}
	return out, gateway.Receipt{ID: ar.ID.String(), Duplicate: ar.Duplicate, Recorded: am.Reception != nil}, nil
}

// message is the store.Message of m as this store takes it: linked to
// the heenbericht routing found (Route.Heen, an id of this store), and
// without the reception when the store does not carry receptions on its
// feed. held says the validation tree of m is kept for the products under
// the body's digest, which the caller releases when nothing new was
// stored.
func (sp storePort) message(m gateway.Message) (msg *store.Message, held bool, err error) {
	msg = &m.Message // m is the caller's copy
	if m.Route.Heen != "" {
		if msg.Answers, err = store.ParseID(m.Route.Heen); err != nil {
			return nil, false, fmt.Errorf("heenbericht id %q from routing: %w", m.Route.Heen, err)
		}
	}
	if !sp.receptions {
		msg.Reception = nil
	}
	if m.Tree != nil && sp.trees != nil {
		msg.SHA256 = sha256.Sum256(msg.Body)
		held = sp.trees.Hold(msg.SHA256, m.Tree)
	}
	return msg, held, nil
}

// putError maps a refusal of Put or PutAnswered to the gateway's kinds:
// aanleveringen the ledger refuses to the lines the gateway answers.
func putError(err error) error {
	if ae, ok := errors.AsType[*store.AanleveringError](err); ok {
		lines := make([]int, len(ae.Refused))
		for i, r := range ae.Refused {
			lines[i] = r.Line
		}
		return &gateway.AanleveringenRefused{Lines: lines}
	}
	switch {
	case errors.Is(err, store.ErrTraceerTaken):
		return gateway.TraceerTaken()
	case errors.Is(err, store.ErrNotFound): // the heenbericht expired between routing and storing
		return &gateway.Error{Kind: gateway.KindUnroutable, Code: string(routing.CodeRetourWithoutHeen), Message: "the heenbericht this message answers is no longer known"}
	}
	return storeError(err)
}

func (sp storePort) List(ctx context.Context, mailbox string, limit int) ([]gateway.Entry, error) {
	entries, err := sp.s.List(ctx, mailbox, limit)
	if err != nil {
		return nil, storeError(err)
	}
	out := make([]gateway.Entry, len(entries))
	for i, e := range entries {
		out[i] = gateway.Entry{ID: e.ID.String(), Berichtsoort: e.Soort, Afzender: e.Sender, Received: e.Received, Size: e.Size}
	}
	return out, nil
}

func (sp storePort) Pending(ctx context.Context, mailbox string, limit int) ([]gateway.Entry, error) {
	entries, err := sp.s.Pending(ctx, mailbox, limit)
	if err != nil {
		return nil, storeError(err)
	}
	out := make([]gateway.Entry, len(entries))
	for i, e := range entries {
		out[i] = gateway.Entry{ID: e.ID.String(), Berichtsoort: e.Soort, Afzender: e.Sender, Received: e.Received, Size: e.Size,
			SHA256: hex.EncodeToString(e.SHA256[:]), Correlation: gateway.CorrelationOf(e.Correlation)}
		if !e.Conversation.IsZero() && e.Conversation != e.ID {
			out[i].Heen = e.Conversation.String()
		}
	}
	return out, nil
}

func (sp storePort) Fetch(ctx context.Context, mailbox, id string) ([]byte, error) {
	sid, err := parseID(id)
	if err != nil {
		return nil, err
	}
	b, err := sp.s.Get(ctx, mailbox, sid)
	if err != nil {
		return nil, storeError(err)
	}
	return b, nil
}

func (sp storePort) Ack(ctx context.Context, mailbox, id string) error {
	sid, err := parseID(id)
	if err != nil {
		return err
	}
	if err := sp.s.Ack(ctx, mailbox, sid); err != nil {
		return storeError(err)
	}
	return nil
}

// Trace reads the store's metadata and history of a message.
func (sp storePort) Trace(ctx context.Context, id string) (gateway.Trace, error) {
	sid, err := parseID(id)
	if err != nil {
		return gateway.Trace{}, err
	}
	m, err := sp.s.Meta(ctx, sid)
	if err != nil {
		return gateway.Trace{}, storeError(err)
	}
	t := gateway.Trace{
		ID: m.ID.String(), Berichtsoort: m.Soort, Sender: m.Sender, Recipient: m.Recipient,
		Identificatie: m.Identificatie, Size: m.Size, SHA256: hex.EncodeToString(m.SHA256[:]),
		Events: make([]gateway.Event, len(m.History)), Correlation: gateway.CorrelationOf(m.Correlation),
	}
	if !m.Conversation.IsZero() && m.Conversation != m.ID {
		t.Heen = m.Conversation.String()
	}
	for i, e := range m.History {
		t.Events[i] = gateway.Event{State: e.State.String(), At: e.At}
		if e.State == store.StateRetourReceived && !e.Ref.IsZero() {
			t.Retour = e.Ref.String()
		}
	}
	return t, nil
}

// Quarantined lists the store's quarantine, metadata only.
func (sp storePort) Quarantined(ctx context.Context, after string, limit int) ([]gateway.Quarantined, error) {
	var from store.ID
	if after != "" {
		id, err := store.ParseID(after)
		if err != nil {
			return nil, &gateway.Error{Kind: gateway.KindMalformed, Code: gateway.CodeBadRequest, Message: "after is not a message id"}
		}
		from = id
	}
	entries, err := sp.s.Quarantined(ctx, from, limit)
	if err != nil {
		return nil, storeError(err)
	}
	out := make([]gateway.Quarantined, len(entries))
	for i, e := range entries {
		out[i] = gateway.Quarantined{ID: e.ID.String(), Berichtsoort: e.Soort, Afzender: e.Sender, Ontvanger: e.Recipient,
			Received: e.Received, Size: e.Size, Deliveries: e.Deliveries}
	}
	return out, nil
}

// Release returns a quarantined message to its mailbox.
func (sp storePort) Release(ctx context.Context, id string) error {
	sid, err := parseID(id)
	if err != nil {
		return err
	}
	if err := sp.s.Release(ctx, sid); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return &gateway.Error{Kind: gateway.KindNotFound, Code: gateway.CodeNotFound, Message: "no such message in quarantine"}
		}
		return storeError(err)
	}
	return nil
}
