package main

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/logtest"
	"github.com/knooppunt/knooppunt/node"
	"github.com/knooppunt/knooppunt/routing"
	"github.com/knooppunt/knooppunt/sample"
	"github.com/knooppunt/knooppunt/xsd"
)

// e2e is a whole switch — dev registry, embedded schemas, a real store in
// a temporary directory, the gateway on 127.0.0.1:0 — driven over HTTP.
type e2e struct {
	t      *testing.T
	inst   *node.Node
	url    string
	client *http.Client
}

func startE2E(t *testing.T) *e2e {
	t.Helper()
	o := serveOptions{dev: true, addr: "127.0.0.1:0", data: t.TempDir(), logLevel: "warn"}
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
	inst, err := startInstance(context.Background(), o, log)
	require.NoError(t, err)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	t.Cleanup(func() {
		client.CloseIdleConnections()
		require.NoError(t, inst.Shutdown(context.Background()))
	})
	return &e2e{t: t, inst: inst, url: inst.URL(), client: client}
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) field(t *testing.T, name string) any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.body, &m), string(r.body))
	return m[name]
}

func (e *e2e) do(method, path, party, contentType string, body []byte) reply {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	require.NoError(e.t, err)
	if party != "" {
		req.Header.Set("Authorization", "Bearer dev-"+party)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := e.client.Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	return reply{status: resp.StatusCode, header: resp.Header, body: b}
}

func (e *e2e) post(party string, body []byte) reply {
	e.t.Helper()
	return e.do(http.MethodPost, "/v1/berichten", party, "application/xml", body)
}

type listed struct {
	ID, Berichtsoort, Afzender string
	Size                       int64
}

func (e *e2e) list(party string, limit int) []listed {
	e.t.Helper()
	r := e.do(http.MethodGet, fmt.Sprintf("/v1/mailbox?limit=%d", limit), party, "", nil)
	require.Equal(e.t, 200, r.status, string(r.body))
	var l struct{ Berichten []listed }
	require.NoError(e.t, json.Unmarshal(r.body, &l))
	return l.Berichten
}

// TestEveryBerichtsoortArrives posts a heenbericht of each of the 14 heen
// types by its rightful sender, then its answer (retour or 325) by the
// recipient, and checks every one arrives byte-identical in the right
// mailbox, with the answer linked to its heenbericht.
func TestEveryBerichtsoortArrives(t *testing.T) {
	// Registered first, so it runs after the switch has shut down: no
	// goroutine of the gateway, store or clients may outlive it.
	running := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, running) })
	e := startE2E(t)
	gen := sample.New(1)
	type sent struct {
		soort, mailbox string
		body           []byte
	}
	want := map[string]sent{} // by id
	seen := map[string]bool{}
	for _, s := range bericht.All() {
		if s.Answers() {
			continue
		}
		heen, err := gen.Heen(s, sample.Options{})
		require.NoError(t, err)
		r := e.post(heen.Header.Sender(), heen.XML)
		require.Equal(t, http.StatusAccepted, r.status, "%s: %s", s.Name, r.body)
		require.Equal(t, heen.Header.Recipient(), r.field(t, "ontvanger"), s.Name)
		require.Equal(t, s.Name, r.field(t, "berichtsoort"))
		heenID := r.field(t, "id").(string)
		want[heenID] = sent{s.Name, heen.Header.Recipient(), heen.XML}
		seen[s.Name] = true

		answer, err := gen.Answer(heen, sample.AnswerOptions{})
		require.NoError(t, err)
		r = e.post(answer.Header.Sender(), answer.XML)
		require.Equal(t, http.StatusAccepted, r.status, "%s: %s", answer.Soort.Name, r.body)
		require.Equal(t, heen.Header.Sender(), r.field(t, "ontvanger"), "%s goes back to the sender of its %s", answer.Soort.Name, s.Name)
		answerID := r.field(t, "id").(string)
		want[answerID] = sent{answer.Soort.Name, heen.Header.Sender(), answer.XML}
		seen[answer.Soort.Name] = true

		// Track & trace links the two, for both parties.
		for _, party := range []string{heen.Header.Sender(), heen.Header.Recipient()} {
			tr := e.do(http.MethodGet, "/v1/berichten/"+heenID, party, "", nil)
			require.Equal(t, 200, tr.status, string(tr.body))
			assert.Equal(t, answerID, tr.field(t, "retour"), s.Name)
		}
		tr := e.do(http.MethodGet, "/v1/berichten/"+answerID, answer.Header.Sender(), "", nil)
		require.Equal(t, 200, tr.status)
		assert.Equal(t, heenID, tr.field(t, "heen"))
	}
	require.Len(t, seen, 28, "every berichtsoort was posted")

	got := 0
	for _, party := range append(append([]string{}, sample.DefaultGemeenten...), sample.DefaultAanbieders...) {
		for _, l := range e.list(party, 250) {
			w, ok := want[l.ID]
			require.True(t, ok, "unexpected message %s in mailbox %s", l.ID, party)
			assert.Equal(t, w.mailbox, party, "%s landed in the wrong mailbox", w.soort)
			assert.Equal(t, w.soort, l.Berichtsoort)
			assert.Equal(t, int64(len(w.body)), l.Size)
			f := e.do(http.MethodGet, "/v1/mailbox/"+l.ID, party, "", nil)
			require.Equal(t, 200, f.status)
			assert.Equal(t, "application/xml", f.header.Get("Content-Type"))
			require.True(t, bytes.Equal(w.body, f.body), "%s is not byte-identical", w.soort)
			require.Equal(t, 204, e.do(http.MethodDelete, "/v1/mailbox/"+l.ID, party, "", nil).status)
			got++
		}
		assert.Empty(t, e.list(party, 250), "mailbox %s is empty after confirming", party)
	}
	assert.Equal(t, len(want), got, "every message was delivered once")

	// The heenbericht's history now shows the whole life.
	for id, w := range want {
		if w.soort != "WMO301" {
			continue
		}
		var tr struct{ Events []struct{ State string } }
		r := e.do(http.MethodGet, "/v1/berichten/"+id, "operator", "", nil)
		require.Equal(t, 200, r.status)
		require.NoError(t, json.Unmarshal(r.body, &tr))
		var states []string
		for _, ev := range tr.Events {
			states = append(states, ev.State)
		}
		for _, s := range []string{"received", "validated", "stored", "retour-received", "listed", "confirmed"} {
			assert.Contains(t, states, s)
		}
	}
}

func TestErrorPaths(t *testing.T) {
	e := startE2E(t)
	gen := sample.New(2)
	wmo301, _ := bericht.Lookup("WMO301")
	heen := func() *sample.Message {
		m, err := gen.Heen(wmo301, sample.Options{Afzender: "0384", Ontvanger: "42420001"})
		require.NoError(t, err)
		return m
	}
	first := heen()
	r := e.post("0384", first.XML)
	require.Equal(t, 202, r.status, string(r.body))
	id := r.field(t, "id")

	otherContent := heen()
	otherContent.XML = bytes.Replace(otherContent.XML, []byte(otherContent.Header.Identificatie), []byte(first.Header.Identificatie), 1)
	unknownRecipient, err := gen.Heen(wmo301, sample.Options{Afzender: "0384", Ontvanger: "99999999"})
	require.NoError(t, err)
	wmo302, _ := bericht.Lookup("WMO302")
	orphan, err := gen.Generate(wmo302, sample.Options{Afzender: "0384", Ontvanger: "42420001"})
	require.NoError(t, err)
	invalid := heen()
	invalid.XML = bytes.Replace(invalid.XML, []byte("<"+"wmo301:Geboortedatum"), []byte("<wmo301:Onbekend/><wmo301:Geboortedatum"), 1)
	require.NotEqual(t, invalid.XML, heen().XML)
	bom := append([]byte{0xEF, 0xBB, 0xBF}, heen().XML...)
	doctype := []byte(`<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]><x>&e;</x>`)
	latin1 := []byte("<?xml version=\"1.0\" encoding=\"UTF-8\"?><x>caf\xe9</x>")

	tests := []struct {
		name, party, contentType string
		body                     []byte
		status                   int
		code                     string
	}{
		{"identical resend", "0384", "application/xml", first.XML, 200, ""},
		{"same identificatie, other content", "0384", "application/xml", otherContent.XML, 409, "duplicate-conflict"},
		{"spoofing", "0363", "application/xml", heen().XML, 403, "sender-mismatch"},
		{"wrong direction", "42420001", "application/xml", heen().XML, 422, "wrong-direction"},
		{"unknown recipient", "0384", "application/xml", unknownRecipient.XML, 422, "unknown-recipient"},
		{"retour without heen", "42420001", "application/xml", orphan.XML, 422, "retour-without-heen"},
		{"xsd violation", "0384", "application/xml", invalid.XML, 422, "xsd-invalid"},
		{"byte order mark", "0384", "application/xml", bom, 400, "byte-order-mark"},
		{"doctype", "0384", "application/xml", doctype, 400, "doctype"},
		{"not utf-8", "0384", "application/xml", latin1, 400, "not-utf8"},
		{"not xml", "0384", "application/xml", []byte("hello"), 400, "not-well-formed"},
		{"wrong content type", "0384", "text/plain", heen().XML, 415, "unsupported-media-type"},
		{"over 25 MB", "0384", "application/xml", bytes.Repeat([]byte(" "), 25<<20+1), 413, "body-too-large"},
		{"no token", "", "application/xml", heen().XML, 401, "unauthenticated"},
		{"operator posts", "operator", "application/xml", heen().XML, 403, "not-a-party"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(http.MethodPost, "/v1/berichten", tt.party, tt.contentType, tt.body)
			require.Equal(t, tt.status, r.status, string(r.body))
			if tt.code == "" {
				assert.Equal(t, id, r.field(t, "id"))
				assert.Equal(t, "duplicate", r.field(t, "status"))
				return
			}
			assert.Equal(t, tt.code, r.field(t, "code"), string(r.body))
			if tt.status == 409 {
				assert.Equal(t, id, r.field(t, "id"), "a conflict names the original")
			}
		})
	}
	t.Run("violations have positions", func(t *testing.T) {
		r := e.post("0384", invalid.XML)
		var body struct {
			Violations []struct{ Line, Column int }
		}
		require.NoError(t, json.Unmarshal(r.body, &body))
		require.NotEmpty(t, body.Violations)
		assert.Positive(t, body.Violations[0].Line)
		assert.Positive(t, body.Violations[0].Column)
	})
	// Only the first message reached the aanbieder.
	l := e.list("42420001", 250)
	require.Len(t, l, 1)
	assert.Equal(t, id, l[0].ID)
	assert.Equal(t, 404, e.do(http.MethodGet, "/v1/mailbox/"+l[0].ID, "65656055", "", nil).status, "another party's message")
	assert.Equal(t, 404, e.do(http.MethodGet, "/v1/berichten/"+l[0].ID, "65656055", "", nil).status, "another party's trace")
	assert.Equal(t, 404, e.do(http.MethodDelete, "/v1/mailbox/not-an-id", "42420001", "", nil).status)
}

// TestConcurrentPollersNeverShare polls one mailbox from two clients at
// once: inside the lease no message may be handed to both.
func TestConcurrentPollersNeverShare(t *testing.T) {
	e := startE2E(t)
	gen := sample.New(3)
	wmo301, _ := bericht.Lookup("WMO301")
	const n = 120
	for range n {
		m, err := gen.Heen(wmo301, sample.Options{Afzender: "0384", Ontvanger: "65656055"})
		require.NoError(t, err)
		require.Equal(t, 202, e.post("0384", m.XML).status)
	}
	var mu sync.Mutex
	got := map[string]int{}
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for { // bounded: each round leases at least one message or stops
				req, _ := http.NewRequest(http.MethodGet, e.url+"/v1/mailbox?limit=7", nil)
				req.Header.Set("Authorization", "Bearer dev-65656055")
				resp, err := e.client.Do(req)
				if !assert.NoError(t, err) {
					return
				}
				var l struct{ Berichten []listed }
				err = json.NewDecoder(resp.Body).Decode(&l)
				resp.Body.Close()
				if !assert.NoError(t, err) || len(l.Berichten) == 0 {
					return
				}
				mu.Lock()
				for _, b := range l.Berichten {
					got[b.ID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	require.Len(t, got, n, "every message was handed out")
	for id, c := range got {
		require.Equal(t, 1, c, "message %s was handed to two pollers inside its lease", id)
	}
}

func TestBatchEndToEnd(t *testing.T) {
	e := startE2E(t)
	gen := sample.New(4)
	wmo305, _ := bericht.Lookup("WMO305")
	var buf bytes.Buffer
	zw := newZip(&buf)
	for i := range 3 {
		m, err := gen.Heen(wmo305, sample.Options{Afzender: "42420001", Ontvanger: "0599"})
		require.NoError(t, err)
		zw.add(t, fmt.Sprintf("m%d.xml", i), m.XML)
	}
	zw.add(t, "broken.xml", []byte("<nope"))
	require.NoError(t, zw.Close())
	r := e.do(http.MethodPost, "/v1/berichten/batch", "42420001", "application/zip", buf.Bytes())
	require.Equal(t, 200, r.status, string(r.body))
	assert.EqualValues(t, 3, r.field(t, "accepted"))
	assert.EqualValues(t, 1, r.field(t, "rejected"))
	assert.Contains(t, string(r.body), `"code":"not-well-formed"`)
	assert.Len(t, e.list("0599", 250), 3)
}

func TestReadinessAndMetrics(t *testing.T) {
	e := startE2E(t)
	assert.Equal(t, 200, e.do(http.MethodGet, "/readyz", "", "", nil).status)
	assert.Equal(t, 200, e.do(http.MethodGet, "/healthz", "", "", nil).status)
	gen := sample.New(5)
	wmo301, _ := bericht.Lookup("WMO301")
	m, err := gen.Heen(wmo301, sample.Options{Afzender: "0384", Ontvanger: "42420001"})
	require.NoError(t, err)
	require.Equal(t, 202, e.post("0384", m.XML).status)
	r := e.do(http.MethodGet, "/metrics", "", "", nil)
	require.Equal(t, 200, r.status)
	body := string(r.body)
	assert.Contains(t, body, `knooppunt_gateway_berichten_total{berichtsoort="WMO301",outcome="stored"} 1`)
	assert.Contains(t, body, "knooppunt_store_pending_messages 1")
	assert.NotContains(t, body, m.Header.Identificatie)
	assert.False(t, strings.Contains(body, `"0384"`), "a party code became a label")
}

type zipWriter struct{ *zip.Writer }

func newZip(w io.Writer) zipWriter { return zipWriter{zip.NewWriter(w)} }

func (z zipWriter) add(t *testing.T, name string, b []byte) {
	f, err := z.Create(name)
	require.NoError(t, err)
	_, err = f.Write(b)
	require.NoError(t, err)
}

func TestServeFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"production needs a registry", []string{"--tls-cert", "a", "--tls-key", "b", "--client-ca", "c"}, 2, "--config"},
		{"production needs TLS", []string{"--config", "x.yaml"}, 2, "--tls-cert, --tls-key and --client-ca are required"},
		{"half TLS in dev", []string{"--dev", "--tls-cert", "a"}, 2, "go together"},
		{"bad log level", []string{"--dev", "--log-level", "loud"}, 2, "--log-level"},
		{"stray argument", []string{"--dev", "extra"}, 2, "unexpected argument"},
		{"help", []string{"--help"}, 0, "Usage: knooppunt serve"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			require.Equal(t, tt.code, runServe(tt.args, nil, &out, &errOut), errOut.String())
			assert.Contains(t, out.String()+errOut.String(), tt.want)
		})
	}
}

// registryYAML is a small registry file: gemeente 0384 and aanbieder
// 42420001 with tokens, plus extra parties.
func registryYAML(extra string) string {
	tok := func(s string) string { return routing.TokenDigest(s) }
	return fmt.Sprintf(`tokens: true
parties:
  - code: "0384"
    role: gemeente
    name: Gemeente Diemen
    credentials: {token_sha256: [%q]}
  - code: "42420001"
    role: aanbieder
    name: Aanbieder
    credentials: {token_sha256: [%q]}
%s`, tok("t-0384"), tok("t-42420001"), extra)
}

func TestCheckConfig(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	require.NoError(t, os.WriteFile(good, []byte(registryYAML("")), 0o600))
	bad := filepath.Join(dir, "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte(registryYAML("  - code: \"12\"\n    role: gemeente\n    name: X\n    colour: blue\n")), 0o600))

	var out, errOut bytes.Buffer
	require.Equal(t, 0, runServe([]string{"--dev", "--config", good, "--check-config"}, nil, &out, &errOut), errOut.String())
	assert.Contains(t, out.String(), "configuration OK: 2 principals")

	out.Reset()
	errOut.Reset()
	require.Equal(t, 1, runServe([]string{"--dev", "--config", bad, "--check-config"}, nil, &out, &errOut))
	assert.Contains(t, errOut.String(), "colour", "the unknown key is named")

	errOut.Reset()
	require.Equal(t, 1, runServe([]string{"--config", good, "--check-config",
		"--tls-cert", filepath.Join(dir, "none.crt"), "--tls-key", filepath.Join(dir, "none.key"), "--client-ca", filepath.Join(dir, "none.ca")}, nil, &out, &errOut))
	assert.Contains(t, errOut.String(), "loading TLS certificate")
}

// TestRegistryReload reloads a changed registry file into a running
// switch: the new party authenticates, the old messages stay.
func TestRegistryReload(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "registry.yaml")
	require.NoError(t, os.WriteFile(file, []byte(registryYAML("")), 0o600))
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
	inst, err := startInstance(context.Background(), serveOptions{config: file, addr: "127.0.0.1:0", data: filepath.Join(dir, "data"), logLevel: "warn"}, log)
	require.NoError(t, err)
	defer inst.Shutdown(context.Background())
	url := inst.URL()
	get := func(token string) int {
		req, _ := http.NewRequest(http.MethodGet, url+"/v1/mailbox", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, 200, get("t-0384"))
	require.Equal(t, 401, get("t-65656055"))

	extra := fmt.Sprintf("  - code: \"65656055\"\n    role: aanbieder\n    name: New\n    credentials: {token_sha256: [%q]}\n", routing.TokenDigest("t-65656055"))
	require.NoError(t, os.WriteFile(file, []byte(registryYAML(extra)), 0o600))
	require.NoError(t, inst.Reload())
	assert.Equal(t, 200, get("t-65656055"), "the new party authenticates after reload")

	require.NoError(t, os.WriteFile(file, []byte("tokens: [broken"), 0o600))
	require.Error(t, inst.Reload())
	assert.Equal(t, 200, get("t-65656055"), "an invalid file keeps the registry in force")
}

// TestServeSignals runs the command itself: it starts, answers, reloads on
// SIGHUP, stops on SIGTERM with status 0, and its messages survive the
// restart.
func TestServeSignals(t *testing.T) {
	if testing.Short() {
		t.Skip("sends signals to the test process; skipped with -short")
	}
	data := t.TempDir()
	start := func() (url string, stop func() int) {
		out, errOut := &logtest.Buffer{}, &logtest.Buffer{}
		done := make(chan int, 1)
		go func() {
			done <- runServe([]string{"--dev", "--addr", "127.0.0.1:0", "--data", data, "--log-level", "warn"}, nil, out, errOut)
		}()
		require.Eventually(t, func() bool { return strings.Contains(out.String(), "dev-operator") }, 60*time.Second, 5*time.Millisecond, errOut.String())
		line := out.String()
		assert.Contains(t, line, "dev-0384", "the dev tokens are printed")
		url = strings.Fields(line[strings.Index(line, "listening on")+len("listening on"):])[0]
		return url, func() int {
			require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGHUP))
			require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGTERM))
			return <-done
		}
	}
	url, stop := start()
	gen := sample.New(6)
	wmo301, _ := bericht.Lookup("WMO301")
	m, err := gen.Heen(wmo301, sample.Options{Afzender: "0384", Ontvanger: "42420001"})
	require.NoError(t, err)
	req, _ := http.NewRequest(http.MethodPost, url+"/v1/berichten", bytes.NewReader(m.XML))
	req.Header.Set("Authorization", "Bearer dev-0384")
	req.Header.Set("Content-Type", "application/xml")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 202, resp.StatusCode)
	require.Equal(t, 0, stop())

	url, stop = start()
	req, _ = http.NewRequest(http.MethodGet, url+"/v1/mailbox", nil)
	req.Header.Set("Authorization", "Bearer dev-42420001")
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Contains(t, string(body), `"berichtsoort":"WMO301"`, "the message survived the restart")
	require.Equal(t, 0, stop())
}

func TestLogSinkBuffersInfoAndFlushesWarnings(t *testing.T) {
	var out logtest.Buffer
	sink := newLogSink(&out, time.Hour) // the ticker never fires in this test
	log := zerolog.New(sink)
	log.Info().Str("request_id", "r1").Msg("request")
	assert.Empty(t, out.String(), "info lines wait in the buffer")
	log.Warn().Msg("attention")
	assert.Contains(t, out.String(), `"request_id":"r1"`, "a warning writes out everything before it")
	assert.Contains(t, out.String(), "attention")
	log.Info().Msg("last")
	require.NoError(t, sink.Close())
	require.NoError(t, sink.Close(), "Close twice")
	assert.True(t, strings.HasSuffix(out.String(), "\"message\":\"last\"}\n"), out.String())
}

// testPKI issues throwaway certificates for the mutual-TLS test.
type testPKI struct {
	t   *testing.T
	ca  *x509.Certificate
	key *ecdsa.PrivateKey
}

func newTestPKI(t *testing.T) *testPKI {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	ca, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return &testPKI{t: t, ca: ca, key: key}
}

// issue writes a certificate and key signed by the CA to dir and returns
// the pair and the paths.
func (p *testPKI) issue(dir, name string, server bool) (tls.Certificate, string, string) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(p.t, err)
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.key)
	require.NoError(p.t, err)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(p.t, err)
	certFile, keyFile := filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	require.NoError(p.t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(p.t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600))
	leaf, _ := x509.ParseCertificate(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, certFile, keyFile
}

// TestMutualTLSEndToEnd runs the production mode: TLS, client
// certificates mapped by the registry file's fingerprints, no tokens.
func TestMutualTLSEndToEnd(t *testing.T) {
	dir := t.TempDir()
	ca := newTestPKI(t)
	caFile := filepath.Join(dir, "ca.crt")
	require.NoError(t, os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.ca.Raw}), 0o600))
	_, serverCert, serverKey := ca.issue(dir, "server", true)
	gemeente, _, _ := ca.issue(dir, "gemeente", false)
	aanbieder, _, _ := ca.issue(dir, "aanbieder", false)
	fp := func(c tls.Certificate) string { return hex.EncodeToString(sha256Sum(c.Certificate[0])) }
	registry := fmt.Sprintf(`parties:
  - code: "0384"
    role: gemeente
    name: Gemeente
    credentials: {certificates: [{sha256: %q}]}
  - code: "42420001"
    role: aanbieder
    name: Aanbieder
    credentials: {certificates: [{sha256: %q}]}
`, fp(gemeente), fp(aanbieder))
	file := filepath.Join(dir, "registry.yaml")
	require.NoError(t, os.WriteFile(file, []byte(registry), 0o600))

	o := serveOptions{config: file, addr: "127.0.0.1:0", data: filepath.Join(dir, "data"), logLevel: "warn",
		tlsCert: serverCert, tlsKey: serverKey, clientCA: caFile}
	require.NoError(t, o.validate())
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
	inst, err := startInstance(context.Background(), o, log)
	require.NoError(t, err)
	defer inst.Shutdown(context.Background())
	url := inst.URL()
	pool := x509.NewCertPool()
	pool.AddCert(ca.ca)
	client := func(cert *tls.Certificate) *http.Client {
		cfg := &tls.Config{RootCAs: pool}
		if cert != nil {
			cfg.Certificates = []tls.Certificate{*cert}
		}
		return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
	}

	gen := sample.New(7)
	wmo301, _ := bericht.Lookup("WMO301")
	m, err := gen.Heen(wmo301, sample.Options{Afzender: "0384", Ontvanger: "42420001"})
	require.NoError(t, err)
	post := func(c *http.Client, token string) (*http.Response, error) {
		req, _ := http.NewRequest(http.MethodPost, url+"/v1/berichten", bytes.NewReader(m.XML))
		req.Header.Set("Content-Type", "application/xml")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		return c.Do(req)
	}
	resp, err := post(client(&aanbieder), "")
	require.NoError(t, err)
	refusal, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, 422, resp.StatusCode)
	assert.Contains(t, string(refusal), "wrong-direction", "the certificate made the caller aanbieder 42420001, who does not send a 301")

	resp, err = post(client(&gemeente), "")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 202, resp.StatusCode)

	_, err = post(client(nil), "dev-0384")
	assert.Error(t, err, "no client certificate: the handshake fails, tokens are off")

	req, _ := http.NewRequest(http.MethodGet, url+"/v1/mailbox", nil)
	resp, err = client(&aanbieder).Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Contains(t, string(body), `"afzender":"0384"`)
}

func sha256Sum(b []byte) []byte {
	s := sha256.Sum256(b)
	return s[:]
}

// TestPublishedExamples posts the published example messages of both
// standards through the API, each heenbericht before its answer, as the
// parties of their headers: every one is stored and lands, byte-identical,
// in the mailbox of its recipient. An answer whose heenbericht is not among
// the accepted examples (some derived iWmo retours copy the header of the
// iJw heenbericht) is refused as retour-without-heen.
func TestPublishedExamples(t *testing.T) {
	const dir = "../../../shared/istandaarden"
	if _, err := os.Stat(dir); err != nil {
		t.Skip("skipped: the published examples in ../shared/istandaarden are not present")
	}
	e := startE2E(t)
	set, err := xsd.Load(xsd.Config{})
	require.NoError(t, err)
	defer set.Close()
	heen := map[string]bool{}        // soort/sender/identificatie of accepted heenberichten
	delivered := map[string][]byte{} // id → bytes
	mailboxOf := map[string]string{} // id → recipient
	answered := 0
	for _, s := range bericht.All() {
		path := filepath.Join(dir, string(s.Standard)+"-3.2", "examples", s.Name+".xml")
		b, err := os.ReadFile(path)
		if os.IsNotExist(err) {
			continue
		}
		require.NoError(t, err)
		h, err := set.Validate(b)
		require.NoError(t, err, s.Name)
		r := e.post(h.Sender(), b)
		if s.Answers() {
			ref := s.Pair + "/" + h.Afzender + "/" + h.Identificatie
			if s.Number == 325 {
				ref = s.Pair + "/" + h.Ontvanger + "/" + h.DeclaratieIdentificatie
			}
			if !heen[ref] {
				require.Equal(t, 422, r.status, "%s refers to no accepted %s: %s", s.Name, s.Pair, r.body)
				assert.Equal(t, "retour-without-heen", r.field(t, "code"))
				continue
			}
			answered++
		}
		require.Equal(t, 202, r.status, "%s: %s", s.Name, r.body)
		want := h.Recipient()
		if s.Number == 325 {
			want = h.Ontvanger
		}
		require.Equal(t, want, r.field(t, "ontvanger"), s.Name)
		if !s.Answers() {
			heen[s.Name+"/"+h.Sender()+"/"+h.Identificatie] = true
		}
		id := r.field(t, "id").(string)
		delivered[id], mailboxOf[id] = b, want
	}
	t.Logf("%d examples stored, %d of them answers", len(delivered), answered)
	require.GreaterOrEqual(t, len(delivered), 20, "most examples went through")
	require.GreaterOrEqual(t, answered, 5, "answers were routed back to their heenbericht")
	for id, b := range delivered {
		f := e.do(http.MethodGet, "/v1/mailbox/"+id, mailboxOf[id], "", nil)
		require.Equal(t, 200, f.status, id)
		require.True(t, bytes.Equal(b, f.body), "message %s is not byte-identical", id)
	}
}

// TestServeRunsTheGemeenteDoor: `serve --dev` starts the StUF-GGk SOAP
// endpoint beside the API and prints it; the conformance suite's SOAP
// cases pass against the running binary, an unsigned Di01 with a dev
// token among them. --check-config says what will run, and --stuf-addr
// off runs none.
func TestServeRunsTheGemeenteDoor(t *testing.T) {
	n := startNodeProcess(t, "--data", t.TempDir()+"/data")
	soap := n.stufURL(t)
	args := []string{"run", "--target", n.url, "--soap-target", soap,
		"--run", "^(soap-di01-valid|soap-rin001|soap-prescan|soap-resend)$"}
	for _, p := range []string{"0363", "0384", "0599", "42420001", "65656055", "12345678", "operator"} {
		args = append(args, "--token", p+"=dev-"+p)
	}
	code, out, errs := conformanceRun(t, append(args, "../../conformance/testdata")...)
	require.Equal(t, 0, code, "stdout: %s\nstderr: %s", out, errs)
	assert.Equal(t, "4 passed, 0 failed", lastLine(out))
	assert.Contains(t, errs, "4 of 4 cases (100%)", "progress on stderr")

	var stdout, stderr bytes.Buffer
	require.Equal(t, 0, run([]string{"serve", "--dev", "--check-config"}, strings.NewReader(""), &stdout, &stderr), stderr.String())
	assert.Contains(t, stdout.String(), "StUF-GGk endpoint 127.0.0.1:8081")
	stdout.Reset()
	require.Equal(t, 0, run([]string{"serve", "--dev", "--check-config", "--stuf-addr", "off"}, strings.NewReader(""), &stdout, &stderr), stderr.String())
	assert.Contains(t, stdout.String(), "StUF-GGk endpoint off")
}

// TestSecondServeOnTheSameData: a second serve on data another process
// has open stops at once and says what to do.
func TestSecondServeOnTheSameData(t *testing.T) {
	data := t.TempDir() + "/data"
	startNodeProcess(t, "--data", data)
	var stdout, stderr bytes.Buffer
	code := run([]string{"serve", "--dev", "--addr", "127.0.0.1:0", "--data", data, "--log-format", "json"}, strings.NewReader(""), &stdout, &stderr)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr.String(), "another knooppunt process holds the lock on "+data+"; stop it, or choose another --data")
}
