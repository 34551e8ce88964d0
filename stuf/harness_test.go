package stuf_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/gateway"
	"github.com/knooppunt/knooppunt/stuf"
	"github.com/knooppunt/knooppunt/xsd"
)

// The gateway's ports, as small as the tests need: the real validator, a
// router that sends a message to its header's recipient, and a store in
// memory with the gateway's dedup rules.

type validator struct{ set *xsd.Set }

func (v validator) Validate(_ context.Context, msg []byte) (bericht.Header, error) {
	h, err := v.set.Validate(msg)
	var xe *xsd.Error
	if errors.As(err, &xe) {
		kind := gateway.KindInvalid
		if xe.Code == xsd.CodeTooLarge {
			kind = gateway.KindTooLarge
		}
		return h, &gateway.Error{Kind: kind, Code: xe.Code, Message: "refused: " + xe.Code}
	}
	return h, err
}

// ValidateRules finds no rule broken: the harness answers no findings.
func (v validator) ValidateRules(ctx context.Context, msg []byte) (bericht.Header, []gateway.Finding, *bericht.Tree, error) {
	h, err := v.Validate(ctx, msg)
	return h, nil, nil, err
}

type router struct{}

func (router) Route(_ context.Context, p gateway.Principal, h bericht.Header) (gateway.Route, error) {
	if h.Sender() != p.ID {
		return gateway.Route{}, &gateway.Error{Kind: gateway.KindForbidden, Code: "sender-mismatch", Message: "not your message"}
	}
	if h.Recipient() == "99999999" {
		return gateway.Route{}, &gateway.Error{Kind: gateway.KindUnroutable, Code: "unknown-recipient", Message: "unknown"}
	}
	return gateway.Route{Recipient: h.Recipient(), Mailbox: h.Recipient()}, nil
}

type memStore struct {
	mu   sync.Mutex
	keys map[string][32]byte
	ids  map[string]string
	msgs []gateway.Message
}

func newMemStore() *memStore {
	return &memStore{keys: map[string][32]byte{}, ids: map[string]string{}}
}

func (s *memStore) Put(_ context.Context, m gateway.Message) (gateway.Receipt, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := m.Header.Sender() + "/" + m.Header.Soort.Name + "/" + m.Header.Identificatie + m.Header.IdentificatieRetour
	sum := sha256.Sum256(m.Body)
	if old, ok := s.keys[key]; ok {
		if old == sum {
			return gateway.Receipt{ID: s.ids[key], Duplicate: true}, nil
		}
		return gateway.Receipt{}, &gateway.Error{Kind: gateway.KindConflict, Code: gateway.CodeDuplicateConflict, Message: "conflict"}
	}
	id := fmt.Sprintf("M%05d", len(s.msgs)+1)
	s.keys[key], s.ids[key] = sum, id
	m.Body = bytes.Clone(m.Body)
	s.msgs = append(s.msgs, m)
	return gateway.Receipt{ID: id}, nil
}

func (s *memStore) stored() []gateway.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]gateway.Message(nil), s.msgs...)
}

func (s *memStore) List(context.Context, string, int) ([]gateway.Entry, error)    { return nil, nil }
func (s *memStore) Pending(context.Context, string, int) ([]gateway.Entry, error) { return nil, nil }
func (s *memStore) PutAnswered(context.Context, gateway.Message, gateway.Message) (gateway.Receipt, gateway.Receipt, error) {
	return gateway.Receipt{}, gateway.Receipt{}, errors.New("unused")
}
func (s *memStore) Fetch(context.Context, string, string) ([]byte, error) {
	return nil, errors.New("unused")
}
func (s *memStore) Ack(context.Context, string, string) error { return errors.New("unused") }
func (s *memStore) Trace(context.Context, string) (gateway.Trace, error) {
	return gateway.Trace{}, errors.New("unused")
}

func (s *memStore) Quarantined(context.Context, string, int) ([]gateway.Quarantined, error) {
	return nil, errors.New("unused")
}

func (s *memStore) Release(context.Context, string) error { return errors.New("unused") }

type parties struct{}

func (parties) ByCertificate(*x509.Certificate) (gateway.Principal, bool) {
	return gateway.Principal{}, false
}

func (parties) ByToken(token string) (gateway.Principal, bool) {
	if len(token) > 4 && token[:4] == "dev-" {
		return gateway.Principal{ID: token[4:], Party: true}, true
	}
	return gateway.Principal{}, false
}

func (parties) ActsFor(p gateway.Principal, code string) bool { return p.ID == code }

var (
	schemaOnce sync.Once
	schemaSet  *xsd.Set
	envSchema  *stuf.Schema
	schemaErr  error
)

// schemas loads the message schemas and then the envelope schema, one
// after the other (libxml2's first use must not be concurrent).
func schemas(t testing.TB) (*xsd.Set, *stuf.Schema) {
	schemaOnce.Do(func() {
		schemaSet, schemaErr = xsd.Load(xsd.Config{})
		if schemaErr == nil {
			envSchema, schemaErr = stuf.LoadSchema()
		}
	})
	require.NoError(t, schemaErr)
	return schemaSet, envSchema
}

// trust is a fixed Trust for tests.
type trust map[string][]byte

func (tr trust) Certificate(party string) ([]byte, bool) {
	der, ok := tr[party]
	return der, ok
}

// harness is a gateway pipeline with the SOAP endpoint on 127.0.0.1.
type harness struct {
	t     testing.TB
	url   string
	store *memStore
	refs  *stuf.MemoryRefs
	reg   *prometheus.Registry
}

func newHarness(t testing.TB, tune ...func(*stuf.Config)) *harness {
	t.Helper()
	set, env := schemas(t)
	st := newMemStore()
	gw, err := gateway.New(gateway.Config{
		Validator: validator{set}, Router: router{}, Store: st, Parties: parties{},
		AllowTokens: true,
	})
	require.NoError(t, err)
	refs := stuf.NewMemoryRefs(0, nil)
	reg := prometheus.NewRegistry()
	cfg := stuf.Config{Pipeline: gw, Authenticate: gw.Authenticate, Schema: env, Refs: refs, Registerer: reg}
	for _, f := range tune {
		f(&cfg)
	}
	h, err := stuf.NewHandler(cfg)
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &harness{t: t, url: srv.URL, store: st, refs: refs, reg: reg}
}

// post sends a SOAP request as party and returns status and body.
func (h *harness) post(party, action string, msg []byte) (int, []byte) {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.url, bytes.NewReader(msg))
	require.NoError(h.t, err)
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	if action != "" {
		req.Header.Set("SOAPAction", `"`+action+`"`)
	}
	if party != "" {
		req.Header.Set("Authorization", "Bearer dev-"+party)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(h.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(h.t, err)
	return resp.StatusCode, b
}

// newCert makes a self-signed certificate for key.
func newCert(t testing.TB, key crypto.Signer, signer any) []byte {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "knooppunt test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), signer)
	require.NoError(t, err)
	return der
}

func rsaSigner(t testing.TB) (*stuf.Signer, []byte) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	der := newCert(t, key, key)
	s, err := stuf.NewSigner(key, der)
	require.NoError(t, err)
	return s, der
}

func ecdsaSigner(t testing.TB) (*stuf.Signer, []byte) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	der := newCert(t, key, key)
	s, err := stuf.NewSigner(key, der)
	require.NoError(t, err)
	return s, der
}

type sampleSoort = bericht.Soort

func lookup(name string) (bericht.Soort, bool) { return bericht.Lookup(name) }
