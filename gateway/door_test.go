package gateway_test

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/gateway"
)

// TestDoorServesWithTheAPIsTLS: a Door serves its handler with the API's
// mutual TLS (a client certificate of the client CA authenticates through
// Server.Authenticate, none fails the handshake, which is counted),
// finishes a request in
// flight when shut down, and may be stopped more than once.
func TestDoorServesWithTheAPIsTLS(t *testing.T) {
	ca := newPKI(t, "Test CA")
	serverCert, _ := ca.issue("knooppunt", true)
	certFile, keyFile := ca.write("server", serverCert)
	gemeente, gemeenteLeaf := ca.issue("gemeente 0384", false)
	parties := newParties()
	parties.certs[sha256.Sum256(gemeenteLeaf.Raw)] = "0384"
	st := newStore()
	reg := prometheus.NewRegistry()
	srv, err := gateway.New(gateway.Config{
		Addr:        "127.0.0.1:0",
		TLSCertFile: certFile, TLSKeyFile: keyFile, ClientCAFile: ca.writeCA(),
		Validator: fakeValidator{}, Router: &fakeRouter{parties: parties, store: st}, Store: st, Parties: parties,
		Registerer: reg, Gatherer: reg,
	})
	require.NoError(t, err)
	defer srv.Close()

	inside, release := make(chan struct{}), make(chan struct{})
	d, err := srv.OpenDoor(gateway.DoorConfig{Name: "test door", Addr: "127.0.0.1:0",
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, err := srv.Authenticate(r)
			if err != nil {
				http.Error(w, err.Error(), http.StatusUnauthorized)
				return
			}
			if r.URL.Path == "/slow" {
				close(inside)
				<-release
			}
			io.WriteString(w, p.ID)
		})})
	require.NoError(t, err)
	url := "https://" + d.Addr().String()
	get := func(cert *tls.Certificate, path string) (int, string, error) {
		cfg := &tls.Config{RootCAs: ca.pool, MinVersion: tls.VersionTLS12}
		if cert != nil {
			cfg.Certificates = []tls.Certificate{*cert}
		}
		tr := &http.Transport{TLSClientConfig: cfg}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr}).Get(url + path)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), nil
	}

	status, body, err := get(&gemeente, "/")
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "0384", body, "the caller of the client certificate")
	_, _, err = get(nil, "/")
	assert.Error(t, err, "without a client certificate the handshake fails")
	noCert := func() float64 {
		mfs, err := reg.Gather()
		require.NoError(t, err)
		for _, mf := range mfs {
			if mf.GetName() != "knooppunt_tls_handshake_failures_total" {
				continue
			}
			for _, m := range mf.GetMetric() {
				if m.GetLabel()[0].GetValue() == "no-certificate" {
					return m.GetCounter().GetValue()
				}
			}
		}
		return 0
	}
	require.Eventually(t, func() bool { return noCert() == 1 }, 10*time.Second, time.Millisecond,
		"the door's failed handshake is counted as the API's are")

	type result struct {
		status int
		body   string
		err    error
	}
	done := make(chan result, 1)
	go func() {
		s, b, err := get(&gemeente, "/slow")
		done <- result{s, b, err}
	}()
	<-inside
	shut := make(chan error, 1)
	go func() { shut <- d.Shutdown(context.Background()) }()
	close(release)
	r := <-done
	require.NoError(t, r.err)
	assert.Equal(t, http.StatusOK, r.status, "the request in flight is answered")
	require.NoError(t, <-shut)
	_, _, err = get(&gemeente, "/")
	assert.Error(t, err, "closed")
	assert.NoError(t, d.Shutdown(context.Background()), "Shutdown twice")
	assert.NoError(t, d.Close(), "Close after Shutdown")
	assert.NoError(t, d.Close(), "Close twice")
}
