package gateway_test

import (
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
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/gateway"
)

func TestShutdownFinishesInFlight(t *testing.T) {
	h := newHarness(t)
	h.store.block = make(chan struct{})
	h.store.putSeen = make(chan struct{}, 1)

	done := make(chan response, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, h.url+"/v1/berichten", bytes.NewReader(msg("WMO301", "0384", "42420001", "S1")))
		req.Header.Set("Authorization", "Bearer tok-0384")
		req.Header.Set("Content-Type", "application/xml")
		resp, err := h.client.Do(req)
		if err != nil {
			done <- response{status: -1, body: []byte(err.Error())}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		done <- response{status: resp.StatusCode, body: b}
	}()
	<-h.store.putSeen // the request is inside Put

	shut := make(chan error, 1)
	go func() { shut <- h.srv.Shutdown(context.Background()) }()
	// New connections are refused once the listener is closed...
	require.Eventually(t, func() bool {
		c, err := net.Dial("tcp", h.url[len("http://"):])
		if err == nil {
			c.Close()
		}
		return err != nil
	}, 10*time.Second, time.Millisecond)
	// ...while the request in flight is finished and answered.
	close(h.store.block)
	r := <-done
	require.Equal(t, http.StatusAccepted, r.status, string(r.body))
	require.NoError(t, <-shut)
	require.NoError(t, h.srv.Close())
	require.NoError(t, h.srv.Close(), "Close twice")
}

// pki is a throwaway CA with helpers to issue certificates, written to
// PEM files in a temporary directory.
type pki struct {
	t    *testing.T
	dir  string
	ca   *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newPKI(t *testing.T, name string) *pki {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	ca, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return &pki{t: t, dir: t.TempDir(), ca: ca, key: key, pool: pool}
}

// issue makes a leaf certificate; server ones are valid for 127.0.0.1.
func (p *pki) issue(cn string, server bool) (tls.Certificate, *x509.Certificate) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(p.t, err)
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: cn, Organization: []string{"Test"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.key)
	require.NoError(p.t, err)
	leaf, err := x509.ParseCertificate(der)
	require.NoError(p.t, err)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, leaf
}

// write stores a certificate and its key as PEM files and returns their paths.
func (p *pki) write(name string, c tls.Certificate) (certFile, keyFile string) {
	keyDER, err := x509.MarshalPKCS8PrivateKey(c.PrivateKey)
	require.NoError(p.t, err)
	certFile, keyFile = filepath.Join(p.dir, name+".crt"), filepath.Join(p.dir, name+".key")
	require.NoError(p.t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]}), 0o600))
	require.NoError(p.t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600))
	return certFile, keyFile
}

func (p *pki) writeCA() string {
	f := filepath.Join(p.dir, "ca.crt")
	require.NoError(p.t, os.WriteFile(f, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.ca.Raw}), 0o600))
	return f
}

func TestMutualTLS(t *testing.T) {
	ca := newPKI(t, "Test CA")
	serverCert, _ := ca.issue("knooppunt", true)
	certFile, keyFile := ca.write("server", serverCert)
	gemeente, gemeenteLeaf := ca.issue("gemeente 0384", false)
	stranger, _ := ca.issue("not registered", false)
	rogue, _ := newPKI(t, "Rogue CA").issue("gemeente 0384", false)

	parties := newParties()
	parties.certs[sha256.Sum256(gemeenteLeaf.Raw)] = "0384"
	st := newStore()
	srv, err := gateway.New(gateway.Config{
		Addr:        "127.0.0.1:0",
		TLSCertFile: certFile, TLSKeyFile: keyFile, ClientCAFile: ca.writeCA(),
		Validator: fakeValidator{}, Router: &fakeRouter{parties: parties, store: st}, Store: st, Parties: parties,
	})
	require.NoError(t, err)
	ln, err := srv.Listen()
	require.NoError(t, err)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer func() {
		require.NoError(t, srv.Shutdown(context.Background()))
		require.NoError(t, <-served)
	}()
	url := "https://" + ln.Addr().String()

	post := func(cert *tls.Certificate, token string) (int, string, error) {
		cfg := &tls.Config{RootCAs: ca.pool, MinVersion: tls.VersionTLS12}
		if cert != nil {
			cfg.Certificates = []tls.Certificate{*cert}
		}
		tr := &http.Transport{TLSClientConfig: cfg}
		defer tr.CloseIdleConnections()
		req, _ := http.NewRequest(http.MethodPost, url+"/v1/berichten", bytes.NewReader(msg("WMO301", "0384", "42420001", "T1")))
		req.Header.Set("Content-Type", "application/xml")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := (&http.Client{Transport: tr}).Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		var e map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&e)
		code, _ := e["code"].(string)
		return resp.StatusCode, code, nil
	}

	status, _, err := post(&gemeente, "")
	require.NoError(t, err)
	assert.Equal(t, http.StatusAccepted, status, "a registered client certificate authenticates")

	status, code, err := post(&stranger, "")
	require.NoError(t, err)
	assert.Equal(t, http.StatusUnauthorized, status, "a valid but unregistered certificate")
	assert.Equal(t, gateway.CodeUnauthenticated, code)

	_, _, err = post(nil, "tok-0384")
	assert.Error(t, err, "without a client certificate the handshake must fail; tokens are off")

	_, _, err = post(&rogue, "")
	assert.Error(t, err, "a certificate of another CA must fail the handshake")
}

func TestAdminListenerServesOnlyOperations(t *testing.T) {
	h := newHarness(t, func(c *gateway.Config) { c.AdminAddr = "127.0.0.1:0" })
	require.Eventually(t, func() bool { return h.srv.AdminAddr() != nil }, 10*time.Second, time.Millisecond)
	admin := "http://" + h.srv.AdminAddr().String()
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/metrics": 200, "/v1/mailbox": 404} {
		req, _ := http.NewRequest(http.MethodGet, admin+path, nil)
		req.Header.Set("Authorization", "Bearer tok-0384")
		resp, err := h.client.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, want, resp.StatusCode, path)
	}
	assert.Equal(t, 200, h.do(http.MethodGet, "/healthz", "", "", nil).status, "the API listener serves them too")
}
