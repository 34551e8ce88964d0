package gateway_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"io"
	"math/big"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/gateway"
	"github.com/knooppunt/knooppunt/logtest"
)

// Personal data in the client certificates of the handshake tests: none
// of it may reach the log.
const (
	personName = "Jan Jansen"
	personBSN  = "123456782"
	personOrg  = "Praktijk Jansen"
)

// tlsServer is a gateway with mutual TLS, logging at the default level
// (info) into logs.
type tlsServer struct {
	addr string
	ca   *pki
	reg  *prometheus.Registry
	logs *logtest.Buffer
	// gemeente is a client certificate the registry knows.
	gemeente tls.Certificate
}

func newTLSServer(t *testing.T, tune ...func(*gateway.Config)) *tlsServer {
	t.Helper()
	ca := newPKI(t, "Test CA")
	serverCert, _ := ca.issue("knooppunt", true)
	certFile, keyFile := ca.write("server", serverCert)
	gemeente, gemeenteLeaf := ca.issue("gemeente 0384", false)
	parties := newParties()
	parties.certs[sha256.Sum256(gemeenteLeaf.Raw)] = "0384"
	st := newStore()
	logs := &logtest.Buffer{}
	reg := prometheus.NewRegistry()
	cfg := gateway.Config{
		Addr:        "127.0.0.1:0",
		TLSCertFile: certFile, TLSKeyFile: keyFile, ClientCAFile: ca.writeCA(),
		Logger:     zerolog.New(logs).Level(zerolog.InfoLevel),
		Registerer: reg, Gatherer: reg,
		Validator: fakeValidator{}, Router: &fakeRouter{parties: parties, store: st}, Store: st, Parties: parties,
	}
	for _, f := range tune {
		f(&cfg)
	}
	srv, err := gateway.New(cfg)
	require.NoError(t, err)
	ln, err := srv.Listen()
	require.NoError(t, err)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		require.NoError(t, srv.Shutdown(context.Background()))
		require.NoError(t, <-served)
	})
	return &tlsServer{addr: ln.Addr().String(), ca: ca, reg: reg, logs: logs, gemeente: gemeente}
}

// failures returns knooppunt_tls_handshake_failures_total by reason. It
// may run in require.Eventually's goroutine, so it does not stop the test.
func (s *tlsServer) failures(t *testing.T) map[string]float64 {
	t.Helper()
	mfs, err := s.reg.Gather()
	assert.NoError(t, err)
	got := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "knooppunt_tls_handshake_failures_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			got[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
		}
	}
	return got
}

// logged reports whether the log holds n lines about failed handshakes;
// they follow the counter, so a test waits for both.
func (s *tlsServer) logged(n int) bool {
	return strings.Count(s.logs.String(), `"message":"TLS handshake failed"`) == n
}

// handshakeLines returns the log lines about failed handshakes.
func (s *tlsServer) handshakeLines(t *testing.T) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(s.logs.String()), "\n") {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &m), l)
		if m["message"] == "TLS handshake failed" {
			lines = append(lines, m)
		}
	}
	return lines
}

// handshake connects with cfg, completes the client's side of the
// handshake if it can and reads once, so that a refusal the server sends
// after the client's last flight (TLS 1.3) arrives too. It returns the
// client's local address, which is the server's remote address.
func (s *tlsServer) handshake(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	raw, err := net.Dial("tcp", s.addr)
	require.NoError(t, err)
	defer raw.Close()
	c := tls.Client(raw, cfg)
	err = c.Handshake()
	if err == nil {
		_, err = c.Read(make([]byte, 1))
	}
	require.Error(t, err, "the server must refuse this handshake")
	return raw.LocalAddr().String()
}

// issueWith makes a client certificate of the CA with the given validity
// and subject.
func (p *pki) issueWith(subject pkix.Name, notBefore, notAfter time.Time, usage x509.ExtKeyUsage) tls.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(p.t, err)
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: subject, NotBefore: notBefore, NotAfter: notAfter,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.key)
	require.NoError(p.t, err)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestTLSHandshakeFailures: real TLS clients that the listener refuses are
// counted by reason and logged at warn level with the remote address and
// the reason, and nothing of their certificates reaches the log; a good
// client counts nothing.
func TestTLSHandshakeFailures(t *testing.T) {
	s := newTLSServer(t)
	person := pkix.Name{CommonName: personName + " " + personBSN, Organization: []string{personOrg}, SerialNumber: personBSN}
	now := time.Now()
	// client presents its certificate whatever CAs the server names (a Go
	// client would otherwise withhold one of another CA).
	client := func(certs ...tls.Certificate) *tls.Config {
		cfg := &tls.Config{RootCAs: s.ca.pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
		if len(certs) > 0 {
			cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &certs[0], nil }
		}
		return cfg
	}
	otherCA := newPKI(t, "Other CA")

	tests := []struct {
		reason string
		cfg    *tls.Config
	}{
		{"unknown-ca", client(otherCA.issueWith(person, now.Add(-time.Hour), now.Add(time.Hour), x509.ExtKeyUsageClientAuth))},
		{"expired", client(s.ca.issueWith(person, now.Add(-48*time.Hour), now.Add(-24*time.Hour), x509.ExtKeyUsageClientAuth))},
		{"no-certificate", client()},
		{"bad-certificate", client(s.ca.issueWith(person, now.Add(-time.Hour), now.Add(time.Hour), x509.ExtKeyUsageServerAuth))},
		{"protocol", &tls.Config{RootCAs: s.ca.pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11, Certificates: []tls.Certificate{s.gemeente}}},
		{"client-refused", &tls.Config{RootCAs: otherCA.pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{s.gemeente}}},
	}
	remotes := map[string]string{}
	for _, tt := range tests {
		t.Run(tt.reason, func(t *testing.T) {
			remotes[tt.reason] = s.handshake(t, tt.cfg)
			require.Eventually(t, func() bool { return s.failures(t)[tt.reason] == 1 }, 10*time.Second, time.Millisecond,
				"the failure is counted under %s", tt.reason)
		})
	}

	t.Run("not-tls", func(t *testing.T) {
		c, err := net.Dial("tcp", s.addr)
		require.NoError(t, err)
		defer c.Close()
		remotes["not-tls"] = c.LocalAddr().String()
		_, err = io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: knooppunt\r\n\r\n")
		require.NoError(t, err)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "net/http answers plain HTTP on a TLS port with 400")
		require.Eventually(t, func() bool { return s.failures(t)["not-tls"] == 1 }, 10*time.Second, time.Millisecond)
	})

	t.Run("closed", func(t *testing.T) {
		c, err := net.Dial("tcp", s.addr)
		require.NoError(t, err)
		require.NoError(t, c.Close())
		require.Eventually(t, func() bool { return s.failures(t)["closed"] == 1 }, 10*time.Second, time.Millisecond)
	})

	// A registered client handshakes, posts, and adds to no reason.
	tr := &http.Transport{TLSClientConfig: client(s.gemeente)}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequest(http.MethodPost, "https://"+s.addr+"/v1/berichten", bytes.NewReader(msg("WMO301", "0384", "42420001", "TLS1")))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/xml")
	resp, err := (&http.Client{Transport: tr}).Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	tr.CloseIdleConnections()

	require.Eventually(t, func() bool { return s.logged(len(remotes)) }, 10*time.Second, time.Millisecond,
		"a warn line for every failure but the closed connection")
	want := map[string]float64{"unknown-ca": 1, "expired": 1, "no-certificate": 1, "bad-certificate": 1, "protocol": 1,
		"client-refused": 1, "not-tls": 1, "closed": 1, "timeout": 0, "other": 0}
	assert.Equal(t, want, s.failures(t), "every reason has its series, and each failure counts once")

	lines := s.handshakeLines(t)
	got := map[string]string{}
	for _, l := range lines {
		assert.Equal(t, "warn", l["level"], l)
		got[l["reason"].(string)] = l["remote"].(string)
	}
	assert.Equal(t, remotes, got, "one warn line per failure (a connection merely closed is debug), with the client's address")
	assert.Len(t, lines, len(remotes))
	log := s.logs.String()
	for _, personal := range []string{personName, personBSN, personOrg, "Jansen"} {
		assert.NotContains(t, log, personal)
	}
}

// TestTLSHandshakeTimeout: a client that connects and never finishes the
// handshake is counted as a timeout once the header timeout passes.
func TestTLSHandshakeTimeout(t *testing.T) {
	s := newTLSServer(t, func(c *gateway.Config) { c.ReadHeaderTimeout = 50 * time.Millisecond })
	c, err := net.Dial("tcp", s.addr)
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Write([]byte{0x16, 0x03, 0x01}) // the start of a record header, then silence
	require.NoError(t, err)
	require.Eventually(t, func() bool { return s.failures(t)["timeout"] == 1 && s.logged(1) }, 10*time.Second, time.Millisecond)
	lines := s.handshakeLines(t)
	require.Len(t, lines, 1)
	assert.Equal(t, "timeout", lines[0]["reason"])
	assert.Equal(t, c.LocalAddr().String(), lines[0]["remote"])
}
