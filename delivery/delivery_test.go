package delivery_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/delivery"
	"github.com/knooppunt/knooppunt/gateway"
	"github.com/knooppunt/knooppunt/logtest"
	"github.com/knooppunt/knooppunt/sample"
	"github.com/knooppunt/knooppunt/store"
	"github.com/knooppunt/knooppunt/store/jetstream"
	"github.com/knooppunt/knooppunt/store/jetstream/natstest"
	"github.com/knooppunt/knooppunt/store/pebble"
	"github.com/knooppunt/knooppunt/stuf"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	gemeente  = "0363"
	aanbieder = "42420001"
)

// registry is a mutable set of push endpoints.
type registry struct {
	mu  sync.Mutex
	eps map[string]delivery.Endpoint
}

func newRegistry(eps ...delivery.Endpoint) *registry {
	r := &registry{eps: map[string]delivery.Endpoint{}}
	for _, e := range eps {
		r.eps[e.Party] = e
	}
	return r
}

func (r *registry) set(e delivery.Endpoint) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.eps[e.Party] = e
}

func (r *registry) endpoints() []delivery.Endpoint {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]delivery.Endpoint, 0, len(r.eps))
	for _, e := range r.eps {
		out = append(out, e)
	}
	return out
}

func openStore(t *testing.T, dir string) *pebble.Store {
	t.Helper()
	st, err := pebble.Open(context.Background(), pebble.Config{Dir: dir, Policy: store.Policy{VisibilityTimeout: 200 * time.Millisecond, MaxDeliveries: 1000}})
	require.NoError(t, err)
	return st
}

// put stores n messages for recipient: berichtsoort soort from sender.
func put(t *testing.T, st store.Store, g *sample.Generator, name, sender, recipient string, n int) [][]byte {
	t.Helper()
	s, ok := bericht.Lookup(name)
	require.True(t, ok)
	var bodies [][]byte
	for range n {
		opt := sample.Options{Afzender: sender, Ontvanger: recipient}
		m, err := g.Heen(s, opt)
		require.NoError(t, err)
		_, err = st.Put(context.Background(), &store.Message{
			Soort: name, Sender: sender, Recipient: recipient, Identificatie: m.Header.Identificatie, Body: m.XML,
		})
		require.NoError(t, err)
		bodies = append(bodies, m.XML)
	}
	return bodies
}

// fast is a Config that retries quickly.
func fast(st delivery.Mailbox, reg *registry) delivery.Config {
	return delivery.Config{
		Mailbox: st, Endpoints: reg.endpoints,
		MaxAttempts: 50, BaseBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond,
		AttemptTimeout: 100 * time.Millisecond, BreakerThreshold: 3, BreakerCooldown: 10 * time.Millisecond,
		PollInterval: 5 * time.Millisecond, RefreshInterval: 10 * time.Millisecond,
		Registerer: prometheus.NewRegistry(),
	}
}

// run starts p until the test ends.
func run(t *testing.T, p *delivery.Pusher) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.Run(ctx)
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

// gemeenteEndpoint is a gemeente's SOAP endpoint: it checks each push
// against the envelope schema (and signature), records the payload and
// answers Bv03 — or fails or hangs as told.
type gemeenteEndpoint struct {
	t       *testing.T
	schema  *stuf.Schema
	cert    []byte
	mu      sync.Mutex
	got     [][]byte
	envs    []*stuf.Envelope
	fail    atomic.Int32 // answer 500 this many times
	hang    atomic.Int32 // hang this many times
	calls   atomic.Int32
	release chan struct{}
}

func (g *gemeenteEndpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.calls.Add(1)
	if g.hang.Load() > 0 {
		g.hang.Add(-1)
		select {
		case <-r.Context().Done():
		case <-g.release:
		}
		return
	}
	if g.fail.Load() > 0 {
		g.fail.Add(-1)
		http.Error(w, "down", http.StatusInternalServerError)
		return
	}
	body, err := io.ReadAll(r.Body)
	if !assert.NoError(g.t, err) {
		return
	}
	assert.NoError(g.t, g.schema.Validate(body), "push conforms to the envelope schema")
	if g.cert != nil {
		assert.NoError(g.t, stuf.Verifier{}.Verify(body, g.cert), "push is signed by the switch")
	}
	env, err := stuf.ReadEnvelope(body)
	if !assert.NoError(g.t, err) {
		return
	}
	g.mu.Lock()
	g.got = append(g.got, env.Payload)
	g.envs = append(g.envs, env)
	g.mu.Unlock()
	ans, err := stuf.Acknowledge(stuf.Party{Organisatie: gemeente, Applicatie: "Wmo app"}, env, nil, time.Now())
	assert.NoError(g.t, err)
	w.Header().Set("Content-Type", "text/xml")
	w.Write(ans)
}

func (g *gemeenteEndpoint) payloads() [][]byte {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([][]byte(nil), g.got...)
}

var (
	schemaOnce sync.Once
	envSchema  *stuf.Schema
)

func newGemeente(t *testing.T) (*gemeenteEndpoint, *httptest.Server) {
	schemaOnce.Do(func() {
		var err error
		envSchema, err = stuf.LoadSchema()
		require.NoError(t, err)
	})
	g := &gemeenteEndpoint{t: t, schema: envSchema, release: make(chan struct{})}
	srv := httptest.NewServer(g)
	t.Cleanup(func() { close(g.release); srv.Close() })
	return g, srv
}

// TestPushStUF delivers heenberichten and retourberichten to a gemeente as
// signed Di01 and Du01 envelopes, confirms them, and leaves the mailbox
// empty.
func TestPushStUF(t *testing.T) {
	st := openStore(t, t.TempDir())
	defer st.Close()
	g := sample.New(1)
	want := put(t, st, g, "WMO305", aanbieder, gemeente, 3)
	want = append(want, put(t, st, g, "JW315", aanbieder, gemeente, 2)...)
	ep, srv := newGemeente(t)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	der := selfSigned(t, key)
	signer, err := stuf.NewSigner(key, der)
	require.NoError(t, err)
	ep.cert = der
	refs := stuf.NewMemoryRefs(0, nil)
	cfg := fast(st, newRegistry(delivery.Endpoint{Party: gemeente, URL: srv.URL, Kind: delivery.KindStUF}))
	cfg.Signer, cfg.Refs = signer, refs
	p, err := delivery.New(cfg)
	require.NoError(t, err)
	stop := run(t, p)
	require.Eventually(t, func() bool { return st.Stats().Pending == 0 }, 10*time.Second, 5*time.Millisecond)
	stop()
	assert.ElementsMatch(t, want, ep.payloads())
	for _, env := range ep.envs {
		assert.Equal(t, "Di01", env.Berichtcode)
		assert.True(t, stuf.IsUUIDv4(env.Referentienummer))
		assert.Equal(t, gemeente, env.Ontvanger.Organisatie)
		assert.Equal(t, aanbieder, env.Zender.Organisatie)
		assert.Equal(t, "GGk", env.Ontvanger.Applicatie)
		assert.Equal(t, [2]string{"0003", "0002"}, [2]string{env.FunctieVersie, env.FunctieSubversie}, "the payload's release, 3.2")
		assert.Empty(t, env.Bestandsnaam, "an XML payload has no bestandsnaam")
		_, ok, err := refs.Di01(context.Background(), env.Referentienummer)
		require.NoError(t, err)
		assert.True(t, ok, "the gemeente may answer the Di01 with a Du01")
	}
}

// TestPushREST delivers to an aanbieder by VSP REST push: multipart with
// berichtMetadata and payload, 204 accepted.
func TestPushREST(t *testing.T) {
	st := openStore(t, t.TempDir())
	defer st.Close()
	want := put(t, st, sample.New(2), "JW301", gemeente, aanbieder, 3)
	var mu sync.Mutex
	var got [][]byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		require.NoError(t, err)
		assert.Equal(t, "multipart/form-data", mt)
		mr := multipart.NewReader(r.Body, params["boundary"])
		md, err := mr.NextPart()
		require.NoError(t, err)
		assert.Equal(t, "berichtMetadata", md.FormName())
		meta, _ := io.ReadAll(md)
		assert.Contains(t, string(meta), `"traceerId"`)
		assert.Contains(t, string(meta), `"code":"`+aanbieder+`"`)
		pl, err := mr.NextPart()
		require.NoError(t, err)
		assert.Equal(t, "payload", pl.FormName())
		b, _ := io.ReadAll(pl)
		mu.Lock()
		got = append(got, b)
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	p, err := delivery.New(fast(st, newRegistry(delivery.Endpoint{Party: aanbieder, URL: srv.URL, Kind: delivery.KindREST})))
	require.NoError(t, err)
	stop := run(t, p)
	require.Eventually(t, func() bool { return st.Stats().Pending == 0 }, 10*time.Second, 5*time.Millisecond)
	stop()
	mu.Lock()
	defer mu.Unlock()
	assert.ElementsMatch(t, want, got)
}

// TestPushFailsHangsRecovers: an endpoint that answers 500, then hangs past
// the attempt timeout, then recovers gets every message exactly once
// confirmed, none quarantined.
func TestPushFailsHangsRecovers(t *testing.T) {
	st := openStore(t, t.TempDir())
	defer st.Close()
	want := put(t, st, sample.New(3), "WMO307", aanbieder, gemeente, 4)
	ep, srv := newGemeente(t)
	ep.fail.Store(4)
	ep.hang.Store(3)
	reg := prometheus.NewRegistry()
	cfg := fast(st, newRegistry(delivery.Endpoint{Party: gemeente, URL: srv.URL, Kind: delivery.KindStUF}))
	cfg.Registerer = reg
	p, err := delivery.New(cfg)
	require.NoError(t, err)
	stop := run(t, p)
	require.Eventually(t, func() bool { return st.Stats().Pending == 0 }, 20*time.Second, 5*time.Millisecond)
	stop()
	assert.ElementsMatch(t, want, ep.payloads())
	assert.GreaterOrEqual(t, int(ep.calls.Load()), 4+3+4, "every failure and hang was an attempt")
	assert.Equal(t, 0.0, metricValue(t, reg, "knooppunt_delivery_quarantined_total"))
	assert.Equal(t, 7.0, metricValue(t, reg, "knooppunt_delivery_attempts_total", "outcome", "failed"))
}

// TestDeadEndpointDoesNotDelayOthers: while one gemeente's endpoint hangs,
// the other's messages are delivered.
func TestDeadEndpointDoesNotDelayOthers(t *testing.T) {
	st := openStore(t, t.TempDir())
	defer st.Close()
	g := sample.New(4)
	put(t, st, g, "WMO305", aanbieder, "0599", 3)
	want := put(t, st, g, "WMO305", aanbieder, gemeente, 3)
	dead, deadSrv := newGemeente(t)
	dead.hang.Store(1 << 30)
	ep, srv := newGemeente(t)
	cfg := fast(st, newRegistry(
		delivery.Endpoint{Party: "0599", URL: deadSrv.URL, Kind: delivery.KindStUF},
		delivery.Endpoint{Party: gemeente, URL: srv.URL, Kind: delivery.KindStUF}))
	cfg.AttemptTimeout = time.Hour // the dead endpoint holds its worker for good
	p, err := delivery.New(cfg)
	require.NoError(t, err)
	stop := run(t, p)
	require.Eventually(t, func() bool { return len(ep.payloads()) == 3 }, 10*time.Second, 5*time.Millisecond)
	stop()
	assert.ElementsMatch(t, want, ep.payloads())
	assert.Empty(t, dead.payloads())
}

// TestEndpointChangeAppliesToQueued: messages queued for a dead endpoint go
// to the new one once the registry names it.
func TestEndpointChangeAppliesToQueued(t *testing.T) {
	st := openStore(t, t.TempDir())
	defer st.Close()
	want := put(t, st, sample.New(5), "WMO317", aanbieder, gemeente, 3)
	dead := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "gone", http.StatusBadGateway)
	}))
	defer dead.Close()
	ep, srv := newGemeente(t)
	reg := newRegistry(delivery.Endpoint{Party: gemeente, URL: dead.URL, Kind: delivery.KindStUF})
	p, err := delivery.New(fast(st, reg))
	require.NoError(t, err)
	run(t, p)
	require.Eventually(t, func() bool { return st.Stats().Deliveries > 0 }, 10*time.Second, 5*time.Millisecond)
	reg.set(delivery.Endpoint{Party: gemeente, URL: srv.URL, Kind: delivery.KindStUF})
	require.Eventually(t, func() bool { return st.Stats().Pending == 0 }, 10*time.Second, 5*time.Millisecond)
	assert.ElementsMatch(t, want, ep.payloads())
}

// TestRestartResumes: messages left unconfirmed when the pusher and the
// store stop are delivered after both start again.
func TestRestartResumes(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir)
	want := put(t, st, sample.New(6), "JW305", aanbieder, gemeente, 3)
	ep, srv := newGemeente(t)
	ep.hang.Store(1 << 30)
	reg := newRegistry(delivery.Endpoint{Party: gemeente, URL: srv.URL, Kind: delivery.KindStUF})
	p, err := delivery.New(fast(st, reg))
	require.NoError(t, err)
	stop := run(t, p)
	require.Eventually(t, func() bool { return ep.calls.Load() > 0 }, 10*time.Second, 5*time.Millisecond)
	stop()
	require.NoError(t, st.Close())
	ep.hang.Store(0)

	st = openStore(t, dir)
	defer st.Close()
	p, err = delivery.New(fast(st, reg))
	require.NoError(t, err)
	run(t, p)
	require.Eventually(t, func() bool { return st.Stats().Pending == 0 }, 10*time.Second, 5*time.Millisecond)
	assert.ElementsMatch(t, want, ep.payloads())
}

// quarantining records the store's Quarantine calls.
type quarantining struct {
	*pebble.Store
	mu      sync.Mutex
	ids     []store.ID
	reasons []string
}

func (q *quarantining) Quarantine(ctx context.Context, party string, id store.ID, reason string) error {
	q.mu.Lock()
	q.ids = append(q.ids, id)
	q.reasons = append(q.reasons, reason)
	q.mu.Unlock()
	return q.Store.Quarantine(ctx, party, id, reason)
}

// failingQuarantine is a mailbox whose Quarantine fails.
type failingQuarantine struct{ delivery.Mailbox }

func (failingQuarantine) Quarantine(context.Context, string, store.ID, string) error {
	return errors.New("quarantine unavailable")
}

// TestQuarantine: after MaxAttempts failures, or at once on a REST 422, a
// message is quarantined with an alert (metric and log line), and the next
// message is delivered.
func TestQuarantine(t *testing.T) {
	for _, c := range []struct {
		name     string
		status   int
		attempts int
		reason   string
	}{
		{"attempts used up", http.StatusServiceUnavailable, 4, delivery.ReasonAttempts},
		{"refused for good", http.StatusUnprocessableEntity, 1, delivery.ReasonRefused},
	} {
		t.Run(c.name, func(t *testing.T) {
			st := openStore(t, t.TempDir())
			defer st.Close()
			put(t, st, sample.New(7), "WMO301", gemeente, aanbieder, 2)
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if calls.Add(1) <= int32(c.attempts) {
					w.WriteHeader(c.status)
					return
				}
				w.WriteHeader(http.StatusNoContent)
			}))
			defer srv.Close()
			q := &quarantining{Store: st}
			reg := prometheus.NewRegistry()
			var logs logtest.Buffer
			cfg := fast(q, newRegistry(delivery.Endpoint{Party: aanbieder, URL: srv.URL, Kind: delivery.KindREST}))
			cfg.MaxAttempts, cfg.Registerer, cfg.Logger = 4, reg, zerolog.New(&logs)
			p, err := delivery.New(cfg)
			require.NoError(t, err)
			stop := run(t, p)
			require.Eventually(t, func() bool { return st.Stats().Pending == 0 }, 10*time.Second, 5*time.Millisecond)
			stop()
			q.mu.Lock()
			assert.Len(t, q.ids, 1)
			assert.Equal(t, []string{c.reason}, q.reasons)
			q.mu.Unlock()
			// In the store's quarantine at once, not parked until MaxDeliveries.
			assert.Equal(t, int64(1), st.Stats().Quarantined)
			ql, err := st.Quarantined(context.Background(), store.ID{}, 10)
			require.NoError(t, err)
			require.Len(t, ql, 1)
			assert.Equal(t, q.ids[0], ql[0].ID)
			assert.Equal(t, 1.0, metricValue(t, reg, "knooppunt_delivery_quarantined_total"))
			assert.Contains(t, logs.String(), `"alert":true`)
			assert.Equal(t, int32(c.attempts+1), calls.Load())
		})
	}
}

// TestParkWhenQuarantineFails: when the store cannot quarantine it, the
// message is parked (not tried again) with the alert, and the next one
// goes through.
func TestParkWhenQuarantineFails(t *testing.T) {
	st := openStore(t, t.TempDir())
	defer st.Close()
	put(t, st, sample.New(8), "WMO301", gemeente, aanbieder, 2)
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= 3 {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	reg := prometheus.NewRegistry()
	cfg := fast(failingQuarantine{st}, newRegistry(delivery.Endpoint{Party: aanbieder, URL: srv.URL, Kind: delivery.KindREST}))
	cfg.MaxAttempts, cfg.Registerer = 3, reg
	p, err := delivery.New(cfg)
	require.NoError(t, err)
	stop := run(t, p)
	require.Eventually(t, func() bool { return st.Stats().Acks == 1 }, 10*time.Second, 5*time.Millisecond)
	// The parked message is listed again after its lease, but not sent.
	require.Eventually(t, func() bool { return st.Stats().Deliveries >= 3 }, 10*time.Second, 5*time.Millisecond)
	stop()
	assert.Equal(t, int32(4), calls.Load())
	assert.Equal(t, 1.0, metricValue(t, reg, "knooppunt_delivery_quarantined_total"))
}

func metricValue(t *testing.T, reg *prometheus.Registry, name string, label ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	total := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(label); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					if lp.GetName() == label[i] && lp.GetValue() == label[i+1] {
						found = true
					}
				}
				if !found {
					continue metrics
				}
			}
			if m.Counter != nil {
				total += m.Counter.GetValue()
			} else if m.Gauge != nil {
				total += m.Gauge.GetValue()
			}
		}
	}
	return total
}

func selfSigned(t *testing.T, key *rsa.PrivateKey) []byte {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "knooppunt"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	return der
}

// TestPushDu01CrossRef: a retourbericht is pushed to the gemeente as a
// Du01 whose crossRefnummer is the referentienummer of the gemeente's own
// Di01 that carried the heenbericht.
func TestPushDu01CrossRef(t *testing.T) {
	st := openStore(t, t.TempDir())
	defer st.Close()
	g := sample.New(13)
	s301, _ := bericht.Lookup("WMO301")
	heen, err := g.Heen(s301, sample.Options{Afzender: gemeente, Ontvanger: aanbieder})
	require.NoError(t, err)
	rh, err := st.Put(context.Background(), &store.Message{Soort: "WMO301", Sender: gemeente, Recipient: aanbieder, Identificatie: heen.Header.Identificatie, Body: heen.XML})
	require.NoError(t, err)
	retour, err := g.Answer(heen, sample.AnswerOptions{})
	require.NoError(t, err)
	_, err = st.Put(context.Background(), &store.Message{Soort: "WMO302", Sender: aanbieder, Recipient: gemeente,
		Identificatie: retour.Header.IdentificatieRetour, Answers: rh.ID, Body: retour.XML})
	require.NoError(t, err)
	refs := stuf.NewMemoryRefs(0, nil)
	di01Ref := stuf.NewUUID()
	require.NoError(t, refs.BindMessage(context.Background(), rh.ID.String(), di01Ref))

	ep, srv := newGemeente(t)
	cfg := fast(st, newRegistry(delivery.Endpoint{Party: gemeente, URL: srv.URL, Kind: delivery.KindStUF}))
	cfg.Refs = refs
	p, err := delivery.New(cfg)
	require.NoError(t, err)
	stop := run(t, p)
	require.Eventually(t, func() bool { return len(ep.payloads()) == 1 }, 10*time.Second, 5*time.Millisecond)
	stop()
	ep.mu.Lock()
	defer ep.mu.Unlock()
	assert.Equal(t, "Du01", ep.envs[0].Berichtcode)
	assert.Equal(t, "WMO302", ep.envs[0].Functie)
	assert.Equal(t, di01Ref, ep.envs[0].CrossRefnummer)
	assert.Equal(t, retour.XML, ep.envs[0].Payload)
	assert.Equal(t, aanbieder, ep.envs[0].Zender.Organisatie, "the aanbieder's answer names the aanbieder")
}

// TestPushSwitchAnswer: an answer the switch made itself (its heenbericht
// filed in the switch's own mailbox) is pushed as a Du01 from the switch,
// as the chain names itself in the messages it makes.
func TestPushSwitchAnswer(t *testing.T) {
	st := openStore(t, t.TempDir())
	defer st.Close()
	g := sample.New(14)
	s301, _ := bericht.Lookup("WMO301")
	heen, err := g.Heen(s301, sample.Options{Afzender: gemeente, Ontvanger: aanbieder})
	require.NoError(t, err)
	rh, err := st.Put(context.Background(), &store.Message{Soort: "WMO301", Sender: gemeente, Recipient: gateway.SwitchMailbox, Identificatie: heen.Header.Identificatie, Body: heen.XML})
	require.NoError(t, err)
	retour, err := g.Answer(heen, sample.AnswerOptions{})
	require.NoError(t, err)
	_, err = st.Put(context.Background(), &store.Message{Soort: "WMO302", Sender: aanbieder, Recipient: gemeente,
		Identificatie: retour.Header.IdentificatieRetour, Answers: rh.ID, Body: retour.XML})
	require.NoError(t, err)

	ep, srv := newGemeente(t)
	cfg := fast(st, newRegistry(delivery.Endpoint{Party: gemeente, URL: srv.URL, Kind: delivery.KindStUF}))
	cfg.Organisatie, cfg.Applicatie = "KNOOPPUNT", "Knooppunt"
	p, err := delivery.New(cfg)
	require.NoError(t, err)
	stop := run(t, p)
	require.Eventually(t, func() bool { return len(ep.payloads()) == 1 }, 10*time.Second, 5*time.Millisecond)
	stop()
	ep.mu.Lock()
	defer ep.mu.Unlock()
	assert.Equal(t, "Du01", ep.envs[0].Berichtcode)
	assert.Equal(t, stuf.Party{Organisatie: "KNOOPPUNT", Applicatie: "Knooppunt"}, ep.envs[0].Zender)
	assert.Equal(t, gemeente, ep.envs[0].Ontvanger.Organisatie)
	assert.Equal(t, [2]string{"0001", "0000"}, [2]string{ep.envs[0].ApplicatieVersie, ep.envs[0].ApplicatieSubversie})
	assert.Equal(t, retour.XML, ep.envs[0].Payload)
}

type trust map[string][]byte

func (tr trust) Certificate(party string) ([]byte, bool) {
	der, ok := tr[party]
	return der, ok
}

// TestSignedAnswers: with Trust naming the gemeente's certificate, an
// unsigned Bv03 is a failed attempt and a signed one confirms.
func TestSignedAnswers(t *testing.T) {
	st := openStore(t, t.TempDir())
	defer st.Close()
	want := put(t, st, sample.New(14), "WMO305", aanbieder, gemeente, 1)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	der := selfSigned(t, key)
	signer, err := stuf.NewSigner(key, der)
	require.NoError(t, err)
	var calls atomic.Int32
	var got atomic.Pointer[[]byte]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		env, err := stuf.ReadEnvelope(b)
		if !assert.NoError(t, err) {
			return
		}
		var s *stuf.Signer
		if calls.Add(1) > 2 {
			s = signer // the first two answers are unsigned
		}
		ans, err := stuf.Acknowledge(stuf.Party{Organisatie: gemeente, Applicatie: "Wmo app"}, env, s, time.Now())
		assert.NoError(t, err)
		got.Store(&env.Payload)
		w.Write(ans)
	}))
	defer srv.Close()
	reg := prometheus.NewRegistry()
	cfg := fast(st, newRegistry(delivery.Endpoint{Party: gemeente, URL: srv.URL, Kind: delivery.KindStUF}))
	cfg.Trust, cfg.Registerer = trust{gemeente: der}, reg
	p, err := delivery.New(cfg)
	require.NoError(t, err)
	stop := run(t, p)
	require.Eventually(t, func() bool { return st.Stats().Pending == 0 }, 10*time.Second, 5*time.Millisecond)
	stop()
	assert.Equal(t, int32(3), calls.Load())
	assert.Equal(t, want[0], *got.Load())
	assert.Equal(t, 2.0, metricValue(t, reg, "knooppunt_delivery_attempts_total", "outcome", "failed"))
}

// TestPushAckByStatus: an endpoint that answers a push plainly (200, no
// Bv03) is retried, and its messages are never confirmed, unless the
// registry says its pushes are confirmed by status (push_ack: http).
func TestPushAckByStatus(t *testing.T) {
	st := openStore(t, t.TempDir())
	defer st.Close()
	put(t, st, sample.New(5), "WMO307", aanbieder, gemeente, 3)
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		calls.Add(1)
		w.WriteHeader(http.StatusOK) // no Bv03
	}))
	defer srv.Close()
	reg := newRegistry(delivery.Endpoint{Party: gemeente, URL: srv.URL, Kind: delivery.KindStUF})
	p, err := delivery.New(fast(st, reg))
	require.NoError(t, err)
	stop := run(t, p)
	require.Eventually(t, func() bool { return calls.Load() >= 6 }, 20*time.Second, 5*time.Millisecond, "retried")
	assert.Equal(t, int64(3), st.Stats().Pending, "a plain 200 confirms nothing when a Bv03 is wanted")
	stop()

	reg.set(delivery.Endpoint{Party: gemeente, URL: srv.URL, Kind: delivery.KindStUF, AnyStatus: true})
	p, err = delivery.New(fast(st, reg))
	require.NoError(t, err)
	run(t, p)
	require.Eventually(t, func() bool { return st.Stats().Pending == 0 }, 20*time.Second, 5*time.Millisecond, "any 2xx confirms")
}

// listing counts the store's List calls.
type listing struct {
	store.Store
	lists atomic.Int32
}

func (l *listing) List(ctx context.Context, party string, limit int) ([]store.Entry, error) {
	l.lists.Add(1)
	return l.Store.List(ctx, party, limit)
}

// TestFeedWakesTheWorker: with the store's feed, a message stored after
// the worker looked at its empty mailbox is pushed without waiting for
// the next poll, which is an hour away; on JetStream the feed without
// the messages' bytes (jetstream.Store.Filings).
func TestFeedWakesTheWorker(t *testing.T) {
	for _, backend := range []string{"pebble", "jetstream"} {
		t.Run(backend, func(t *testing.T) {
			var st interface {
				store.Store
				Stats() store.Stats
			}
			var feed store.Feed
			if backend == "pebble" {
				p := openStore(t, t.TempDir())
				st, feed = p, p
			} else {
				js, err := jetstream.Open(context.Background(), jetstream.Config{URL: natstest.Start(t).ClientURL(), Replicas: 1})
				require.NoError(t, err)
				st, feed = js, js.Filings()
			}
			defer st.Close()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusNoContent)
			}))
			defer srv.Close()
			box := &listing{Store: st}
			cfg := fast(box, newRegistry(delivery.Endpoint{Party: aanbieder, URL: srv.URL, Kind: delivery.KindREST}))
			cfg.PollInterval, cfg.Feed = time.Hour, feed
			p, err := delivery.New(cfg)
			require.NoError(t, err)
			stop := run(t, p)
			defer stop()
			require.Eventually(t, func() bool { return box.lists.Load() >= 1 }, 10*time.Second, time.Millisecond,
				"the worker looked at its empty mailbox and sleeps until its poll")
			put(t, st, sample.New(8), "WMO301", gemeente, aanbieder, 1)
			require.Eventually(t, func() bool { return st.Stats().Acks == 1 }, 10*time.Second, 5*time.Millisecond, "woken by the feed")
		})
	}
}
