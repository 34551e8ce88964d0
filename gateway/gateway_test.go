package gateway_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/knooppunt/knooppunt/gateway"
	"github.com/knooppunt/knooppunt/logtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// harness is a gateway on 127.0.0.1:0 with fakes behind it.
type harness struct {
	t      *testing.T
	srv    *gateway.Server
	url    string
	store  *fakeStore
	logs   *logtest.Buffer
	reg    *prometheus.Registry
	client *http.Client
}

func newHarness(t *testing.T, tune ...func(*gateway.Config)) *harness {
	t.Helper()
	parties := newParties()
	st := newStore()
	logs := &logtest.Buffer{}
	reg := prometheus.NewRegistry()
	cfg := gateway.Config{
		Addr:        "127.0.0.1:0",
		AllowTokens: true,
		Logger:      zerolog.New(logs),
		Registerer:  reg, Gatherer: reg,
		Validator: fakeValidator{},
		Router:    &fakeRouter{parties: parties, store: st},
		Store:     st,
		Parties:   parties,
	}
	for _, f := range tune {
		f(&cfg)
	}
	srv, err := gateway.New(cfg)
	require.NoError(t, err)
	ln, err := srv.Listen()
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	client := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(func() {
		require.NoError(t, srv.Shutdown(context.Background()))
		require.NoError(t, <-done)
		client.CloseIdleConnections()
	})
	return &harness{t: t, srv: srv, url: "http://" + ln.Addr().String(), store: st, logs: logs, reg: reg, client: client}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.body, &m), string(r.body))
	return m
}

func (h *harness) do(method, path, token, contentType string, body []byte) response {
	h.t.Helper()
	req, err := http.NewRequest(method, h.url+path, bytes.NewReader(body))
	require.NoError(h.t, err)
	if body == nil {
		req.Body = nil
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := h.client.Do(req)
	require.NoError(h.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(h.t, err)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

func (h *harness) post(token string, body []byte) response {
	h.t.Helper()
	return h.do(http.MethodPost, "/v1/berichten", token, "application/xml", body)
}

func TestPostBericht(t *testing.T) {
	h := newHarness(t)
	heen := msg("WMO301", "0384", "42420001", "A1")

	r := h.post("tok-0384", heen)
	require.Equal(t, http.StatusAccepted, r.status, string(r.body))
	got := r.json(t)
	assert.Equal(t, "stored", got["status"])
	assert.Equal(t, "WMO301", got["berichtsoort"])
	assert.Equal(t, "42420001", got["ontvanger"])
	id := got["id"].(string)
	require.NotEmpty(t, id)
	assert.NotEmpty(t, r.header.Get("X-Request-Id"))

	// An identical resend: 200 with the original id, nothing new stored.
	r = h.post("tok-0384", heen)
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	assert.Equal(t, id, r.json(t)["id"])
	assert.Equal(t, "duplicate", r.json(t)["status"])

	// Same Identificatie, other content: 409 with the original id.
	r = h.post("tok-0384", append(msg("WMO301", "0384", "42420001", "A1"), " other"...))
	require.Equal(t, http.StatusConflict, r.status, string(r.body))
	assert.Equal(t, gateway.CodeDuplicateConflict, r.json(t)["code"])
	assert.Equal(t, id, r.json(t)["id"])

	// The retour goes back to the sender of the heenbericht.
	r = h.post("tok-42420001", retourMsg("WMO302", "0384", "42420001", "A1", "R1"))
	require.Equal(t, http.StatusAccepted, r.status, string(r.body))
	assert.Equal(t, "0384", r.json(t)["ontvanger"])
}

func TestPostBerichtRefusals(t *testing.T) {
	h := newHarness(t, func(c *gateway.Config) { c.MaxBodyBytes = 1 << 10 })
	valid := msg("WMO301", "0384", "42420001", "B1")
	tests := []struct {
		name        string
		token       string
		contentType string
		body        []byte
		status      int
		code        string
	}{
		{"no credentials", "", "application/xml", valid, 401, gateway.CodeUnauthenticated},
		{"unknown token", "tok-nobody", "application/xml", valid, 401, gateway.CodeUnauthenticated},
		{"no content type", "tok-0384", "", valid, 415, gateway.CodeUnsupportedMedia},
		{"json", "tok-0384", "application/json", valid, 415, gateway.CodeUnsupportedMedia},
		{"latin-1", "tok-0384", "application/xml; charset=iso-8859-1", valid, 415, gateway.CodeUnsupportedMedia},
		{"too large", "tok-0384", "application/xml", append(valid, bytes.Repeat([]byte(" "), 2<<10)...), 413, gateway.CodeBodyTooLarge},
		{"empty", "tok-0384", "application/xml", []byte{}, 400, gateway.CodeEmpty},
		{"malformed", "tok-0384", "application/xml", []byte("MALFORMED"), 400, "not-well-formed"},
		{"xsd invalid", "tok-0384", "application/xml", append(msg("WMO301", "0384", "42420001", "B2"), "INVALID"...), 422, "xsd-invalid"},
		{"spoofing", "tok-0363", "application/xml", valid, 403, "sender-mismatch"},
		{"wrong direction", "tok-42420001", "application/xml", msg("WMO301", "42420001", "0384", "B3"), 403, "wrong-direction"},
		{"operator posts", "tok-operator", "application/xml", valid, 403, "not-a-party"},
		{"unknown recipient", "tok-0384", "application/xml", msg("WMO301", "0384", "99999999", "B4"), 422, "unknown-recipient"},
		{"retour without heen", "tok-42420001", "application/xml", retourMsg("WMO302", "0384", "42420001", "NOPE", "R9"), 422, "retour-without-heen"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.do(http.MethodPost, "/v1/berichten", tt.token, tt.contentType, tt.body)
			require.Equal(t, tt.status, r.status, string(r.body))
			assert.Equal(t, "application/json", r.header.Get("Content-Type"))
			got := r.json(t)
			assert.Equal(t, tt.code, got["code"])
			assert.NotEmpty(t, got["message"])
		})
	}
	// Nothing of the refused messages reached a mailbox.
	r := h.do(http.MethodGet, "/v1/mailbox", "tok-42420001", "", nil)
	require.Equal(t, 200, r.status)
	assert.Empty(t, r.json(t)["berichten"])
}

func TestViolationsAreAnsweredButNotLogged(t *testing.T) {
	h := newHarness(t)
	r := h.post("tok-0384", append(msg("WMO301", "0384", "42420001", "C1"), "INVALID"...))
	require.Equal(t, 422, r.status)
	var e gateway.Error
	require.NoError(t, json.Unmarshal(r.body, &e))
	require.Len(t, e.Violations, 1)
	assert.Equal(t, 1, e.Violations[0].Line)
	assert.Equal(t, 7, e.Violations[0].Column)
	assert.Contains(t, e.Violations[0].Message, "999999990")

	logs := h.logs.String()
	assert.Contains(t, logs, `"code":"xsd-invalid"`)
	assert.Contains(t, logs, r.header.Get("X-Request-Id"))
	assert.NotContains(t, logs, "999999990", "a value of the message reached the log")
}

func TestUnknownRoutesAndMethods(t *testing.T) {
	h := newHarness(t)
	r := h.do(http.MethodGet, "/v1/nothing", "tok-0384", "", nil)
	require.Equal(t, 404, r.status)
	assert.Equal(t, gateway.CodeNotFound, r.json(t)["code"])

	for _, p := range []string{"/v1//mailbox", "/v1/../v1/mailbox", "/v1/mailbox/.", "/v1/mailbox/a/b"} {
		r := h.do(http.MethodGet, p, "tok-0384", "", nil)
		require.Equal(t, 404, r.status, p)
		assert.Equal(t, gateway.CodeNotFound, r.json(t)["code"], p)
	}

	r = h.do(http.MethodPut, "/v1/mailbox/x", "tok-0384", "", nil)
	require.Equal(t, 405, r.status)
	assert.Equal(t, gateway.CodeMethodNotAllowed, r.json(t)["code"])
	assert.Equal(t, "DELETE, GET", r.header.Get("Allow"))
}

func TestRequestIDIsEchoedWhenSafe(t *testing.T) {
	h := newHarness(t)
	for _, tt := range []struct{ sent, want string }{
		{"client-abc.123", "client-abc.123"},
		{"bad id with spaces", ""},
	} {
		req, err := http.NewRequest(http.MethodGet, h.url+"/healthz", nil)
		require.NoError(t, err)
		req.Header.Set("X-Request-Id", tt.sent)
		resp, err := h.client.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		got := resp.Header.Get("X-Request-Id")
		if tt.want != "" {
			assert.Equal(t, tt.want, got)
		} else {
			assert.NotEqual(t, tt.sent, got)
			assert.Len(t, got, 16)
		}
	}
}

func TestMailbox(t *testing.T) {
	h := newHarness(t)
	bodies := map[string][]byte{}
	for i := range 3 {
		b := msg("WMO301", "0384", "42420001", fmt.Sprintf("D%d", i))
		r := h.post("tok-0384", b)
		require.Equal(t, 202, r.status, string(r.body))
		bodies[r.json(t)["id"].(string)] = b
	}

	r := h.do(http.MethodGet, "/v1/mailbox?limit=2", "tok-42420001", "", nil)
	require.Equal(t, 200, r.status, string(r.body))
	var l gateway.Listing
	require.NoError(t, json.Unmarshal(r.body, &l))
	require.Len(t, l.Berichten, 2)
	for _, e := range l.Berichten {
		assert.Equal(t, "WMO301", e.Berichtsoort)
		assert.Equal(t, "0384", e.Afzender)
		assert.Equal(t, int64(len(bodies[e.ID])), e.Size)
		assert.False(t, e.Received.IsZero())

		f := h.do(http.MethodGet, "/v1/mailbox/"+e.ID, "tok-42420001", "", nil)
		require.Equal(t, 200, f.status)
		assert.Equal(t, "application/xml", f.header.Get("Content-Type"))
		assert.Equal(t, bodies[e.ID], f.body, "fetched bytes differ from the bytes posted")

		// Another party cannot read it.
		assert.Equal(t, 404, h.do(http.MethodGet, "/v1/mailbox/"+e.ID, "tok-65656055", "", nil).status)

		d := h.do(http.MethodDelete, "/v1/mailbox/"+e.ID, "tok-42420001", "", nil)
		require.Equal(t, 204, d.status)
		d = h.do(http.MethodDelete, "/v1/mailbox/"+e.ID, "tok-42420001", "", nil)
		require.Equal(t, 204, d.status, "confirming twice must succeed")
	}
	// The third is leased to nobody yet; the first two are confirmed.
	r = h.do(http.MethodGet, "/v1/mailbox", "tok-42420001", "", nil)
	require.NoError(t, json.Unmarshal(r.body, &l))
	require.Len(t, l.Berichten, 1)

	assert.Equal(t, 404, h.do(http.MethodDelete, "/v1/mailbox/M9999", "tok-42420001", "", nil).status)
	for _, limit := range []string{"0", "251", "x", "-1"} {
		r := h.do(http.MethodGet, "/v1/mailbox?limit="+limit, "tok-42420001", "", nil)
		assert.Equal(t, 400, r.status, limit)
		assert.Equal(t, gateway.CodeBadRequest, r.json(t)["code"])
	}
	r = h.do(http.MethodGet, "/v1/mailbox", "tok-operator", "", nil)
	assert.Equal(t, 403, r.status)
}

func TestTrace(t *testing.T) {
	h := newHarness(t)
	r := h.post("tok-0384", msg("WMO301", "0384", "42420001", "E1"))
	require.Equal(t, 202, r.status)
	heen := r.json(t)["id"].(string)
	r = h.post("tok-42420001", retourMsg("WMO302", "0384", "42420001", "E1", "ER1"))
	require.Equal(t, 202, r.status, string(r.body))
	retour := r.json(t)["id"].(string)

	for _, tt := range []struct {
		token  string
		status int
	}{
		{"tok-0384", 200}, {"tok-42420001", 200}, {"tok-operator", 200}, {"tok-65656055", 404}, {"tok-0363", 404},
	} {
		r := h.do(http.MethodGet, "/v1/berichten/"+heen, tt.token, "", nil)
		require.Equal(t, tt.status, r.status, tt.token)
		if tt.status != 200 {
			continue
		}
		var v gateway.TraceView
		require.NoError(t, json.Unmarshal(r.body, &v))
		assert.Equal(t, heen, v.ID)
		assert.Equal(t, retour, v.Retour)
		var states []string
		for _, e := range v.Events {
			states = append(states, e.State)
			assert.False(t, e.At.IsZero())
		}
		assert.Equal(t, []string{"received", "validated", "stored", "retour-received"}, states)
	}
	r = h.do(http.MethodGet, "/v1/berichten/"+retour, "tok-0384", "", nil)
	require.Equal(t, 200, r.status)
	assert.Equal(t, heen, r.json(t)["heen"])
}

func TestSamenwerkingsverband(t *testing.T) {
	h := newHarness(t)
	r := h.post("tok-42420001", msg("WMO305", "42420001", "0606", "F1"))
	require.Equal(t, 202, r.status, string(r.body))
	id := r.json(t)["id"].(string)
	assert.Equal(t, "0606", r.json(t)["ontvanger"])
	l := h.do(http.MethodGet, "/v1/mailbox", "tok-swv", "", nil)
	require.Equal(t, 200, l.status)
	assert.Contains(t, string(l.body), id)
	// The swv answers for 0606 and sees the trace.
	r = h.post("tok-swv", retourMsg("WMO306", "42420001", "0606", "F1", "FR1"))
	require.Equal(t, 202, r.status, string(r.body))
	assert.Equal(t, 200, h.do(http.MethodGet, "/v1/berichten/"+id, "tok-swv", "", nil).status)
}

func TestValidateStoresNothing(t *testing.T) {
	h := newHarness(t)
	r := h.do(http.MethodPost, "/v1/validate", "tok-0384", "application/xml", msg("WMO301", "0384", "42420001", "G1"))
	require.Equal(t, 200, r.status, string(r.body))
	var v gateway.Validation
	require.NoError(t, json.Unmarshal(r.body, &v))
	assert.True(t, v.Valid)
	assert.Equal(t, "WMO301", v.Berichtsoort)
	assert.Equal(t, "G1", v.Identificatie)

	r = h.do(http.MethodPost, "/v1/validate", "tok-0384", "application/xml", append(msg("WMO301", "0384", "42420001", "G1"), "INVALID"...))
	require.Equal(t, 422, r.status)
	assert.NotEmpty(t, r.json(t)["violations"])

	// Validation alone neither routes (a spoof is not refused) nor stores.
	r = h.do(http.MethodPost, "/v1/validate", "tok-0363", "application/xml", msg("WMO301", "0384", "42420001", "G2"))
	require.Equal(t, 200, r.status)
	r = h.do(http.MethodGet, "/v1/mailbox", "tok-42420001", "", nil)
	assert.Empty(t, r.json(t)["berichten"])
}

func zipOf(t *testing.T, files ...[]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i, f := range files {
		w, err := zw.Create(fmt.Sprintf("msg%02d.xml", i+1))
		require.NoError(t, err)
		_, err = w.Write(f)
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

func TestBatch(t *testing.T) {
	h := newHarness(t)
	z := zipOf(t,
		msg("WMO301", "0384", "42420001", "H1"),
		append(msg("WMO301", "0384", "42420001", "H2"), "INVALID"...),
		msg("WMO301", "0384", "99999999", "H3"),
		msg("WMO301", "0384", "42420001", "H1"),
	)
	r := h.do(http.MethodPost, "/v1/berichten/batch", "tok-0384", "application/zip", z)
	require.Equal(t, 200, r.status, string(r.body))
	var res gateway.BatchResult
	require.NoError(t, json.Unmarshal(r.body, &res))
	require.Len(t, res.Results, 4)
	assert.Equal(t, 2, res.Accepted)
	assert.Equal(t, 2, res.Rejected)
	want := []struct {
		status int
		result string
		code   string
	}{{202, "stored", ""}, {422, "rejected", "xsd-invalid"}, {422, "rejected", "unknown-recipient"}, {200, "duplicate", ""}}
	for i, w := range want {
		got := res.Results[i]
		assert.Equal(t, fmt.Sprintf("msg%02d.xml", i+1), got.Name)
		assert.Equal(t, w.status, got.Status, i)
		assert.Equal(t, w.result, got.Result, i)
		assert.Equal(t, w.code, got.Code, i)
	}
	assert.NotEmpty(t, res.Results[1].Violations)
	assert.Equal(t, res.Results[0].ID, res.Results[3].ID)
}

func TestBatchRefusals(t *testing.T) {
	h := newHarness(t, func(c *gateway.Config) { c.MaxBodyBytes = 64 << 10; c.MaxBatchMessages = 3 })
	many := make([][]byte, 4)
	for i := range many {
		many[i] = msg("WMO301", "0384", "42420001", fmt.Sprintf("I%d", i))
	}
	// A bomb: 1 MB of zeros compresses to about 1 KB, far over the 64 KB
	// uncompressed bound.
	bomb := zipOf(t, bytes.Repeat([]byte{0}, 1<<20))
	require.Less(t, len(bomb), 8<<10)
	tests := []struct {
		name, contentType string
		body              []byte
		status            int
		code              string
	}{
		{"not a zip", "application/zip", []byte("PK no zip"), 400, gateway.CodeBatchNotZip},
		{"empty zip", "application/zip", zipOf(t), 400, gateway.CodeBatchNotZip},
		{"too many", "application/zip", zipOf(t, many...), 400, gateway.CodeBatchTooMany},
		{"bomb", "application/zip", bomb, 413, gateway.CodeBatchTooLarge},
		{"xml instead", "application/xml", many[0], 415, gateway.CodeUnsupportedMedia},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.do(http.MethodPost, "/v1/berichten/batch", "tok-0384", tt.contentType, tt.body)
			require.Equal(t, tt.status, r.status, string(r.body))
			assert.Equal(t, tt.code, r.json(t)["code"])
		})
	}
}

func TestHealthAndReadiness(t *testing.T) {
	var ready error
	var mu sync.Mutex
	h := newHarness(t, func(c *gateway.Config) {
		c.Ready = []gateway.Check{{Name: "store", Check: func(context.Context) error {
			mu.Lock()
			defer mu.Unlock()
			return ready
		}}}
	})
	assert.Equal(t, 200, h.do(http.MethodGet, "/healthz", "", "", nil).status)
	assert.Equal(t, 200, h.do(http.MethodGet, "/readyz", "", "", nil).status)
	mu.Lock()
	ready = fmt.Errorf("store closed at /secret/path")
	mu.Unlock()
	r := h.do(http.MethodGet, "/readyz", "", "", nil)
	require.Equal(t, 503, r.status)
	assert.Equal(t, gateway.CodeNotReady, r.json(t)["code"])
	assert.NotContains(t, string(r.body), "/secret/path")
	assert.Contains(t, h.logs.String(), "/secret/path", "the cause is logged for the operator")
}

func TestMetrics(t *testing.T) {
	h := newHarness(t)
	require.Equal(t, 202, h.post("tok-0384", msg("WMO301", "0384", "42420001", "J1")).status)
	require.Equal(t, 403, h.post("tok-0363", msg("WMO301", "0384", "42420001", "J2")).status)
	r := h.do(http.MethodGet, "/metrics", "", "", nil)
	require.Equal(t, 200, r.status)
	body := string(r.body)
	assert.Contains(t, body, `knooppunt_gateway_berichten_total{berichtsoort="WMO301",outcome="stored"} 1`)
	assert.Contains(t, body, `knooppunt_gateway_berichten_total{berichtsoort="WMO301",outcome="sender-mismatch"} 1`)
	assert.Contains(t, body, `knooppunt_http_requests_total{code="stored",route="/v1/berichten"} 1`)
	assert.Contains(t, body, `knooppunt_http_request_duration_seconds_bucket{route="/v1/berichten"`)
	for _, party := range []string{"0384", "0363", "42420001", "J1"} {
		assert.NotContains(t, body, `"`+party+`"`, "a party code or identificatie became a label")
	}
}

func TestInternalErrorIsLoggedNotSent(t *testing.T) {
	h := newHarness(t)
	h.store.failPut = fmt.Errorf("disk full at /data/wal")
	r := h.post("tok-0384", msg("WMO301", "0384", "42420001", "K1"))
	require.Equal(t, 500, r.status)
	assert.Equal(t, gateway.CodeInternal, r.json(t)["code"])
	assert.NotContains(t, string(r.body), "/data/wal")
	assert.Contains(t, h.logs.String(), "disk full")
	assert.True(t, strings.Contains(h.logs.String(), `"level":"error"`))
}

func TestConfigValidate(t *testing.T) {
	base := gateway.Config{Validator: fakeValidator{}, Router: &fakeRouter{}, Store: newStore(), Parties: newParties(), AllowTokens: true}
	require.NoError(t, base.Validate())
	tests := []struct {
		name string
		mod  func(*gateway.Config)
		want string
	}{
		{"no ports", func(c *gateway.Config) { c.Store = nil }, "required"},
		{"nobody can authenticate", func(c *gateway.Config) { c.AllowTokens = false }, "bearer tokens must be enabled"},
		{"half TLS", func(c *gateway.Config) { c.TLSCertFile = "x.pem" }, "certificate, a key and a client CA"},
		{"limit", func(c *gateway.Config) { c.MailboxLimit = 300 }, "mailbox limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base
			tt.mod(&c)
			err := c.Validate()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			_, err = gateway.New(c)
			require.Error(t, err)
		})
	}
}

func TestPanicBecomesInternalError(t *testing.T) {
	h := newHarness(t)
	h.store.panicPut.Store(true)
	r := h.post("tok-0384", msg("WMO301", "0384", "42420001", "P1"))
	require.Equal(t, 500, r.status)
	assert.Equal(t, gateway.CodeInternal, r.json(t)["code"])
	assert.Contains(t, h.logs.String(), "defect in the store", "the panic is logged with its stack")
	h.store.panicPut.Store(false)
	assert.Equal(t, 202, h.post("tok-0384", msg("WMO301", "0384", "42420001", "P2")).status, "the server goes on")
	r = h.do(http.MethodGet, "/metrics", "", "", nil)
	assert.Contains(t, string(r.body), "knooppunt_http_requests_in_flight 1", "only the /metrics request itself is in flight")
}
