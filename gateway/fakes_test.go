package gateway_test

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/gateway"
)

// The fakes below stand in for the xsd, routing and store packages, so the
// gateway's own behaviour is tested alone. The end-to-end tests in
// cmd/knooppunt run the real ones.

// fakeMessage is the toy message format of fakeValidator:
// <m soort="WMO301" afzender="0384" ontvanger="42420001" id="X1"/> plus
// anything after it; "INVALID" anywhere makes it fail its "schema" with a
// violation quoting a value, "MALFORMED" makes it unreadable.
var fakeMessage = regexp.MustCompile(`^<m soort="(\w+)" afzender="(\w+)" ontvanger="(\w+)" id="(\w+)"(?: retour="(\w+)")?/>`)

func msg(soort, afzender, ontvanger, id string) []byte {
	return fmt.Appendf(nil, `<m soort=%q afzender=%q ontvanger=%q id=%q/>`, soort, afzender, ontvanger, id)
}

func retourMsg(soort, afzender, ontvanger, id, retourID string) []byte {
	return fmt.Appendf(nil, `<m soort=%q afzender=%q ontvanger=%q id=%q retour=%q/>`, soort, afzender, ontvanger, id, retourID)
}

type fakeValidator struct{}

func (fakeValidator) Validate(_ context.Context, b []byte) (bericht.Header, error) {
	if regexp.MustCompile(`MALFORMED`).Match(b) {
		return bericht.Header{}, &gateway.Error{Kind: gateway.KindMalformed, Code: "not-well-formed", Message: "the message is not well-formed XML"}
	}
	m := fakeMessage.FindSubmatch(b)
	if m == nil {
		return bericht.Header{}, &gateway.Error{Kind: gateway.KindMalformed, Code: "unknown-namespace", Message: "no berichtsoort"}
	}
	if regexp.MustCompile(`INVALID`).Match(b) {
		return bericht.Header{}, &gateway.Error{Kind: gateway.KindInvalid, Code: "xsd-invalid", Message: "the message breaks its schema",
			Violations: []gateway.Violation{{Line: 1, Column: 7, Message: "Element 'Bsn': the value '999999990' is not accepted"}}}
	}
	s, ok := bericht.Lookup(string(m[1]))
	if !ok {
		return bericht.Header{}, &gateway.Error{Kind: gateway.KindMalformed, Code: "unknown-namespace", Message: "no berichtsoort"}
	}
	return bericht.Header{Soort: s, BerichtCode: s.Code, Afzender: string(m[2]), Ontvanger: string(m[3]),
		Identificatie: string(m[4]), IdentificatieRetour: string(m[5]), Dagtekening: "2026-11-28"}, nil
}

// ValidateRules finds no rule broken (ruleValidator does).
func (v fakeValidator) ValidateRules(ctx context.Context, b []byte) (bericht.Header, []gateway.Finding, *bericht.Tree, error) {
	h, err := v.Validate(ctx, b)
	return h, nil, nil, err
}

// fakeParties knows parties by token "tok-<code>" and by certificate
// fingerprint, an operator by "tok-operator", and a samenwerkingsverband
// "swv" handling gemeente 0606.
type fakeParties struct {
	roles map[string]bericht.Role
	certs map[[32]byte]string
}

func newParties() *fakeParties {
	return &fakeParties{
		roles: map[string]bericht.Role{
			"0384": bericht.Gemeente, "0363": bericht.Gemeente, "0606": bericht.Gemeente, "swv": bericht.Gemeente,
			"42420001": bericht.Aanbieder, "65656055": bericht.Aanbieder,
		},
		certs: map[[32]byte]string{},
	}
}

func (f *fakeParties) principal(id string) (gateway.Principal, bool) {
	if id == "operator" {
		return gateway.Principal{ID: id, Operator: true}, true
	}
	if _, ok := f.roles[id]; !ok || id == "0606" {
		return gateway.Principal{}, false
	}
	return gateway.Principal{ID: id, Party: true}, true
}

func (f *fakeParties) ByCertificate(c *x509.Certificate) (gateway.Principal, bool) {
	id, ok := f.certs[sha256.Sum256(c.Raw)]
	if !ok {
		return gateway.Principal{}, false
	}
	return f.principal(id)
}

func (f *fakeParties) ByToken(t string) (gateway.Principal, bool) {
	if len(t) < 4 || t[:4] != "tok-" {
		return gateway.Principal{}, false
	}
	return f.principal(t[4:])
}

func (f *fakeParties) ActsFor(p gateway.Principal, code string) bool {
	return p.Party && (p.ID == code || p.ID == "swv" && code == "0606")
}

// fakeRouter: the principal must be (or act for) the header's sender and
// have its role; heenberichten go to the header's recipient; retours look
// up their heenbericht in the fake store.
type fakeRouter struct {
	parties *fakeParties
	store   *fakeStore
}

func (r *fakeRouter) Route(ctx context.Context, p gateway.Principal, h bericht.Header) (gateway.Route, error) {
	if !p.Party {
		return gateway.Route{}, &gateway.Error{Kind: gateway.KindForbidden, Code: "not-a-party", Message: "only parties send"}
	}
	if r.parties.roles[p.ID] != h.Soort.Sender {
		return gateway.Route{}, &gateway.Error{Kind: gateway.KindForbidden, Code: "wrong-direction", Message: "wrong direction"}
	}
	if !r.parties.ActsFor(p, h.Sender()) {
		return gateway.Route{}, &gateway.Error{Kind: gateway.KindForbidden, Code: "sender-mismatch", Message: "spoofing"}
	}
	rt := gateway.Route{Recipient: h.Recipient()}
	if h.Soort.Retour {
		id, ok := r.store.lookup(h.Afzender, h.Soort.Pair, h.Identificatie)
		if !ok {
			return gateway.Route{}, &gateway.Error{Kind: gateway.KindUnroutable, Code: "retour-without-heen", Message: "no heenbericht"}
		}
		rt.Heen = id
	}
	if _, ok := r.parties.roles[rt.Recipient]; !ok {
		return gateway.Route{}, &gateway.Error{Kind: gateway.KindUnroutable, Code: "unknown-recipient", Message: "unknown recipient"}
	}
	rt.Mailbox = rt.Recipient
	if rt.Mailbox == "0606" {
		rt.Mailbox = "swv"
	}
	return rt, nil
}

// fakeStore is an in-memory store with dedup and leases; block, when set,
// makes Put wait for it to close (to hold a request in flight).
type fakeStore struct {
	mu       sync.Mutex
	seq      int
	msgs     map[string]*storedMsg
	byKey    map[string]string   // sender/soort/identificatie → id
	traceer  map[string]string   // traceerId → id (Message.Correlation)
	conv     map[string]string   // conversatieId → first id
	ledger   map[[32]byte]string // aanlevering key → last status (Message.Aanleveringen)
	lease    time.Duration
	now      func() time.Time
	block    chan struct{}
	putSeen  chan struct{}
	failPut  error
	panicPut atomic.Bool
}

type storedMsg struct {
	m          gateway.Message
	id         string
	leaseUntil time.Time
	acked      bool
	events     []gateway.Event
	retour     string
	// quarantined: taken out of the mailbox until released.
	quarantined bool
}

func newStore() *fakeStore {
	return &fakeStore{msgs: map[string]*storedMsg{}, byKey: map[string]string{}, traceer: map[string]string{}, conv: map[string]string{},
		ledger: map[[32]byte]string{}, lease: time.Minute, now: time.Now}
}

func (s *fakeStore) lookup(sender, soort, ident string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.byKey[sender+"/"+soort+"/"+ident]
	return id, ok
}

func (s *fakeStore) Put(ctx context.Context, m gateway.Message) (gateway.Receipt, error) {
	if s.putSeen != nil {
		s.putSeen <- struct{}{}
	}
	if s.block != nil {
		<-s.block
	}
	if s.failPut != nil {
		return gateway.Receipt{}, s.failPut
	}
	if s.panicPut.Load() {
		panic("defect in the store")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ident := m.Header.Identificatie
	if m.Header.Soort.Retour {
		ident = m.Header.IdentificatieRetour
	}
	key := m.Header.Sender() + "/" + m.Header.Soort.Name + "/" + ident
	if c := m.Correlation; c != nil {
		if owner, ok := s.traceer[c.Traceer.String()]; ok && owner != s.byKey[key] {
			return gateway.Receipt{}, gateway.TraceerTaken()
		}
	}
	if id, ok := s.byKey[key]; ok {
		if string(s.msgs[id].m.Body) == string(m.Body) {
			if c := m.Correlation; c != nil {
				s.traceer[c.Traceer.String()] = id
			}
			return gateway.Receipt{ID: id, Duplicate: true}, nil
		}
		return gateway.Receipt{}, &gateway.Error{Kind: gateway.KindConflict, Code: gateway.CodeDuplicateConflict, Message: "identificatie used with other content", ID: id}
	}
	var refused []int
	for i, a := range m.Aanleveringen {
		if (s.ledger[a.Key] == "1") == (a.Status == "1") {
			refused = append(refused, i)
		}
	}
	if len(refused) > 0 {
		return gateway.Receipt{}, &gateway.AanleveringenRefused{Lines: refused}
	}
	for _, a := range m.Aanleveringen {
		s.ledger[a.Key] = a.Status
	}
	s.seq++
	id := fmt.Sprintf("M%04d", s.seq)
	m.Body = slices.Clone(m.Body)
	s.msgs[id] = &storedMsg{m: m, id: id, events: []gateway.Event{{State: "received", At: m.Received}, {State: "validated", At: m.Validated}, {State: "stored", At: s.now()}}}
	s.byKey[key] = id
	if c := m.Correlation; c != nil {
		s.traceer[c.Traceer.String()] = id
		if _, ok := s.conv[c.Conversatie.String()]; !ok {
			s.conv[c.Conversatie.String()] = id
		}
	}
	if h := s.msgs[m.Route.Heen]; h != nil {
		h.retour = id
		h.events = append(h.events, gateway.Event{State: "retour-received", At: s.now()})
	}
	return gateway.Receipt{ID: id}, nil
}

// PutAnswered is Put of heen, confirmed at once, and Put of its answer
// (not in one write: the fake has nothing to crash).
func (s *fakeStore) PutAnswered(ctx context.Context, heen, answer gateway.Message) (gateway.Receipt, gateway.Receipt, error) {
	hr, err := s.Put(ctx, heen)
	if err != nil {
		return gateway.Receipt{}, gateway.Receipt{}, err
	}
	s.mu.Lock()
	m := s.msgs[hr.ID]
	if hr.Duplicate && m.m.Route.Mailbox != heen.Route.Mailbox {
		s.mu.Unlock()
		return hr, gateway.Receipt{}, nil
	}
	if hr.Duplicate && m.retour != "" {
		s.mu.Unlock()
		return hr, gateway.Receipt{ID: m.retour, Duplicate: true}, nil
	}
	if !m.acked {
		m.acked = true
		m.events = append(m.events, gateway.Event{State: "confirmed", At: s.now()})
	}
	s.mu.Unlock()
	answer.Route.Heen = hr.ID
	ar, err := s.Put(ctx, answer)
	return hr, ar, err
}

func (s *fakeStore) List(ctx context.Context, mailbox string, limit int) ([]gateway.Entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []gateway.Entry
	now := s.now()
	for i := 1; i <= s.seq && len(out) < limit; i++ {
		m := s.msgs[fmt.Sprintf("M%04d", i)]
		if m.m.Route.Mailbox != mailbox || m.acked || m.quarantined || now.Before(m.leaseUntil) {
			continue
		}
		m.leaseUntil = now.Add(s.lease)
		m.events = append(m.events, gateway.Event{State: "listed", At: now})
		out = append(out, gateway.Entry{ID: m.id, Berichtsoort: m.m.Header.Soort.Name, Afzender: m.m.Header.Sender(),
			Received: m.m.Received, Size: int64(len(m.m.Body)), LeasedUntil: m.leaseUntil})
	}
	return out, nil
}

func (s *fakeStore) Pending(ctx context.Context, mailbox string, limit int) ([]gateway.Entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []gateway.Entry
	now := s.now()
	for i := 1; i <= s.seq && len(out) < limit; i++ {
		m := s.msgs[fmt.Sprintf("M%04d", i)]
		if m.m.Route.Mailbox != mailbox || m.acked || m.quarantined || now.Before(m.leaseUntil) {
			continue
		}
		sum := sha256.Sum256(m.m.Body)
		out = append(out, gateway.Entry{ID: m.id, Berichtsoort: m.m.Header.Soort.Name, Afzender: m.m.Header.Sender(),
			Received: m.m.Received, Size: int64(len(m.m.Body)), SHA256: hex.EncodeToString(sum[:]),
			Heen: m.m.Route.Heen, Correlation: gateway.CorrelationOf(m.m.Correlation)})
	}
	return out, nil
}

func (s *fakeStore) get(mailbox, id string) (*storedMsg, error) {
	m, ok := s.msgs[id]
	if !ok || m.m.Route.Mailbox != mailbox {
		return nil, &gateway.Error{Kind: gateway.KindNotFound, Code: gateway.CodeNotFound, Message: "no such message in this mailbox"}
	}
	return m, nil
}

func (s *fakeStore) Fetch(ctx context.Context, mailbox, id string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.get(mailbox, id)
	if err != nil {
		return nil, err
	}
	return m.m.Body, nil
}

func (s *fakeStore) Ack(ctx context.Context, mailbox, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.get(mailbox, id)
	if err != nil {
		return err
	}
	if !m.acked {
		m.acked = true
		m.events = append(m.events, gateway.Event{State: "confirmed", At: s.now()})
	}
	return nil
}

func (s *fakeStore) Trace(ctx context.Context, id string) (gateway.Trace, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.msgs[id]
	if !ok {
		return gateway.Trace{}, &gateway.Error{Kind: gateway.KindNotFound, Code: gateway.CodeNotFound, Message: "no such message"}
	}
	ident := m.m.Header.Identificatie
	if m.m.Header.Soort.Retour {
		ident = m.m.Header.IdentificatieRetour
	}
	sum := sha256.Sum256(m.m.Body)
	return gateway.Trace{ID: id, Berichtsoort: m.m.Header.Soort.Name, Sender: m.m.Header.Sender(), Recipient: m.m.Route.Mailbox,
		Identificatie: ident, Size: int64(len(m.m.Body)), SHA256: hex.EncodeToString(sum[:]),
		Events: slices.Clone(m.events), Heen: m.m.Route.Heen, Retour: m.retour, Correlation: gateway.CorrelationOf(m.m.Correlation)}, nil
}

// quarantine takes message id out of its mailbox into the fake's
// quarantine, as the store does after too many deliveries.
func (s *fakeStore) quarantine(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs[id].quarantined = true
}

func (s *fakeStore) Quarantined(ctx context.Context, after string, limit int) ([]gateway.Quarantined, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for id, m := range s.msgs {
		if m.quarantined && id > after {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	var out []gateway.Quarantined
	for _, id := range ids[:min(limit, len(ids))] {
		m := s.msgs[id]
		out = append(out, gateway.Quarantined{ID: id, Berichtsoort: m.m.Header.Soort.Name, Afzender: m.m.Header.Sender(),
			Ontvanger: m.m.Route.Mailbox, Size: int64(len(m.m.Body)), Deliveries: 3})
	}
	return out, nil
}

func (s *fakeStore) Release(ctx context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.msgs[id]
	if !ok || !m.quarantined {
		return &gateway.Error{Kind: gateway.KindNotFound, Code: "not-found", Message: "no such message in quarantine"}
	}
	m.quarantined = false
	return nil
}
