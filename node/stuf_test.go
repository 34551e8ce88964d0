package node

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/gateway"
	"github.com/knooppunt/knooppunt/sample"
	"github.com/knooppunt/knooppunt/store/pebble"
	"github.com/knooppunt/knooppunt/stuf"
)

// TestStUFFrontDoor: a Di01 posted to the node's SOAP endpoint goes through
// the same pipeline as the REST API — validated, routed by the registry and
// stored in the recipient's mailbox — and a refusal of that pipeline comes
// back as a Fo03 with the chain's code.
func TestStUFFrontDoor(t *testing.T) {
	n, err := Start(context.Background(), Config{
		Dev: true, Addr: "127.0.0.1:0",
		Store:  pebble.Config{Dir: t.TempDir()},
		StUF:   StUFConfig{Addr: "127.0.0.1:0"},
		Logger: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel),
	})
	require.NoError(t, err)
	defer n.Close()
	require.NotEmpty(t, n.StUFURL())

	s, _ := bericht.Lookup("WMO301")
	post := func(afzender, ontvanger string) (int, []byte) {
		m, err := sample.New(time.Now().UnixNano()).Heen(s, sample.Options{Afzender: afzender, Ontvanger: ontvanger})
		require.NoError(t, err)
		el, err := (&stuf.Envelope{
			Berichtcode: "Di01", Zender: stuf.Party{Organisatie: "0363", Applicatie: "Wmo app"},
			Ontvanger: stuf.Party{Organisatie: ontvanger, Applicatie: "GGk"}, Referentienummer: stuf.NewUUID(),
			TijdstipBericht: stuf.Tijdstip(time.Now()), Functie: "WMO301", Payload: m.XML,
		}).Marshal()
		require.NoError(t, err)
		msg, err := stuf.Build(stuf.Addressing{Action: stuf.ActionDi01}, el, nil, time.Now())
		require.NoError(t, err)
		req, err := http.NewRequest(http.MethodPost, n.StUFURL(), bytes.NewReader(msg))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "text/xml; charset=utf-8")
		req.Header.Set("Authorization", "Bearer dev-0363")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, b
	}

	status, body := post("0363", "42420001")
	require.Equal(t, http.StatusOK, status, "%s", body)
	fault, err := stuf.ReadAnswer(body)
	require.NoError(t, err)
	require.Nil(t, fault)
	entries, err := n.Store().List(context.Background(), "42420001", 10)
	require.NoError(t, err)
	require.Len(t, entries, 1, "stored in the recipient's mailbox")
	assert.Equal(t, "WMO301", entries[0].Soort)

	status, body = post("0363", "99999999") // no such aanbieder in the registry
	require.Equal(t, http.StatusInternalServerError, status)
	fault, err = stuf.ReadAnswer(body)
	require.NoError(t, err)
	require.NotNil(t, fault)
	assert.Equal(t, stuf.CodeUnknownRecipient, fault.Code)

	require.NoError(t, n.Shutdown(context.Background()))
	_, err = http.Post(n.StUFURL(), "text/xml", nil)
	require.Error(t, err, "nothing listens after shutdown")
}

// TestGemeenteRoundTrip runs the whole gemeente side on a node: an
// aanbieder posts a WMO305 over REST; the node pushes it to the gemeente's
// endpoint in a Di01; the gemeente answers with a WMO306 in a Du01 naming
// that Di01, which the node routes back to the aanbieder's mailbox. The
// Di01's reference number is kept in the store: the Du01 is accepted also
// when the node restarted in between.
func TestGemeenteRoundTrip(t *testing.T) {
	for _, restart := range []bool{false, true} {
		t.Run(fmt.Sprintf("restart=%v", restart), func(t *testing.T) { gemeenteRoundTrip(t, restart) })
	}
}

func gemeenteRoundTrip(t *testing.T, restart bool) {
	var mu sync.Mutex
	var got []*stuf.Envelope
	gemeente := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		env, err := stuf.ReadEnvelope(b)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		got = append(got, env)
		mu.Unlock()
		ans, _ := stuf.Acknowledge(stuf.Party{Organisatie: "0363", Applicatie: "Wmo app"}, env, nil, time.Now())
		w.Header().Set("Content-Type", "text/xml")
		w.Write(ans)
	}))
	defer gemeente.Close()
	digest := func(tok string) string { s := sha256.Sum256([]byte(tok)); return hex.EncodeToString(s[:]) }
	regFile := filepath.Join(t.TempDir(), "registry.yaml")
	require.NoError(t, os.WriteFile(regFile, []byte(fmt.Sprintf(`tokens: true
parties:
  - code: "0363"
    role: gemeente
    name: Gemeente Amsterdam
    credentials: {token_sha256: ["%s"]}
    delivery: push
    push_url: %s
  - code: "42420001"
    role: aanbieder
    name: Zorg BV
    credentials: {token_sha256: ["%s"]}
`, digest("t-0363"), gemeente.URL, digest("t-4242"))), 0o600))
	cfg := Config{
		RegistryFile: regFile, Addr: "127.0.0.1:0",
		Store:  pebble.Config{Dir: t.TempDir()},
		StUF:   StUFConfig{Addr: "127.0.0.1:0", Push: true},
		Logger: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel),
	}
	n, err := Start(context.Background(), cfg)
	require.NoError(t, err)
	defer func() { n.Close() }()

	g := sample.New(12)
	s305, _ := bericht.Lookup("WMO305")
	heen, err := g.Heen(s305, sample.Options{Afzender: "42420001", Ontvanger: "0363"})
	require.NoError(t, err)
	req, _ := http.NewRequest(http.MethodPost, n.URL()+"/v1/berichten", bytes.NewReader(heen.XML))
	req.Header.Set("Content-Type", "application/xml")
	req.Header.Set("Authorization", "Bearer t-4242")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusAccepted, resp.StatusCode)

	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 1 }, 10*time.Second, 10*time.Millisecond)
	mu.Lock()
	di01 := got[0]
	mu.Unlock()
	assert.Equal(t, "Di01", di01.Berichtcode)
	assert.Equal(t, "WMO305", di01.Functie)
	assert.Equal(t, heen.XML, di01.Payload)
	if restart {
		require.Eventually(t, func() bool { return n.Store().Stats().Pending == 0 }, 10*time.Second, 10*time.Millisecond, "the Di01 is confirmed")
		require.NoError(t, n.Shutdown(context.Background()))
		require.NoError(t, n.Close())
		n, err = Start(context.Background(), cfg)
		require.NoError(t, err)
	}

	retour, err := g.Answer(heen, sample.AnswerOptions{})
	require.NoError(t, err)
	el, err := (&stuf.Envelope{
		Berichtcode: "Du01", Zender: stuf.Party{Organisatie: "0363", Applicatie: "Wmo app"},
		Ontvanger: stuf.Party{Organisatie: "42420001", Applicatie: "GGk"}, Referentienummer: stuf.NewUUID(),
		TijdstipBericht: stuf.Tijdstip(time.Now()), CrossRefnummer: di01.Referentienummer, Functie: "WMO306", Payload: retour.XML,
	}).Marshal()
	require.NoError(t, err)
	msg, err := stuf.Build(stuf.Addressing{Action: stuf.ActionDu01}, el, nil, time.Now())
	require.NoError(t, err)
	req, _ = http.NewRequest(http.MethodPost, n.StUFURL(), bytes.NewReader(msg))
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("Authorization", "Bearer t-0363")
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)

	entries, err := n.Store().List(context.Background(), "42420001", 10)
	require.NoError(t, err)
	require.Len(t, entries, 1)
	assert.Equal(t, "WMO306", entries[0].Soort)
	require.NoError(t, n.Shutdown(context.Background()))
}

// TestRegistrySignatures: a gemeente whose registry entry requires a
// signature is refused unsigned (KP201) and signed with another key
// (KP202), and accepted signed with its registered certificate; a party
// that need not sign is accepted unsigned.
func TestRegistrySignatures(t *testing.T) {
	newSigner := func() (*stuf.Signer, []byte) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "wmo-app"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		require.NoError(t, err)
		s, err := stuf.NewSigner(key, der)
		require.NoError(t, err)
		return s, der
	}
	own, der := newSigner()
	other, _ := newSigner()
	certPEM := strings.ReplaceAll(strings.TrimSpace(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))), "\n", "\n          ")
	digest := func(tok string) string { s := sha256.Sum256([]byte(tok)); return hex.EncodeToString(s[:]) }
	regFile := filepath.Join(t.TempDir(), "registry.yaml")
	require.NoError(t, os.WriteFile(regFile, []byte(fmt.Sprintf(`tokens: true
parties:
  - code: "0363"
    role: gemeente
    name: Gemeente Amsterdam
    credentials: {token_sha256: ["%s"]}
    require_signature: true
    signing_certificates:
      - pem: |
          %s
  - code: "0599"
    role: gemeente
    name: Gemeente Rotterdam
    credentials: {token_sha256: ["%s"]}
  - code: "42420001"
    role: aanbieder
    name: Zorg BV
`, digest("t-0363"), certPEM, digest("t-0599"))), 0o600))
	n, err := Start(context.Background(), Config{
		RegistryFile: regFile, Addr: "127.0.0.1:0",
		Store:  pebble.Config{Dir: t.TempDir()},
		StUF:   StUFConfig{Addr: "127.0.0.1:0"},
		Logger: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel),
	})
	require.NoError(t, err)
	defer n.Close()

	s, _ := bericht.Lookup("WMO301")
	post := func(gemeente string, signer *stuf.Signer) string {
		m, err := sample.New(time.Now().UnixNano()).Heen(s, sample.Options{Afzender: gemeente, Ontvanger: "42420001"})
		require.NoError(t, err)
		el, err := (&stuf.Envelope{
			Berichtcode: "Di01", Zender: stuf.Party{Organisatie: gemeente, Applicatie: "Wmo app"},
			Ontvanger: stuf.Party{Organisatie: "42420001", Applicatie: "GGk"}, Referentienummer: stuf.NewUUID(),
			TijdstipBericht: stuf.Tijdstip(time.Now()), Functie: "WMO301", Payload: m.XML,
		}).Marshal()
		require.NoError(t, err)
		msg, err := stuf.Build(stuf.Addressing{Action: stuf.ActionDi01, To: n.StUFURL()}, el, signer, time.Now())
		require.NoError(t, err)
		req, _ := http.NewRequest(http.MethodPost, n.StUFURL(), bytes.NewReader(msg))
		req.Header.Set("Content-Type", "text/xml; charset=utf-8")
		req.Header.Set("Authorization", "Bearer t-"+gemeente)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		fault, err := stuf.ReadAnswer(b)
		require.NoError(t, err, "%s", b)
		if fault == nil {
			require.Equal(t, http.StatusOK, resp.StatusCode)
			return ""
		}
		return fault.Code
	}
	tests := []struct {
		name, gemeente string
		signer         *stuf.Signer
		want           string
	}{
		{"required, unsigned", "0363", nil, stuf.CodeSignatureMissing},
		{"required, another key", "0363", other, stuf.CodeSignatureInvalid},
		{"required, registered certificate", "0363", own, ""},
		{"not required, unsigned", "0599", nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, post(tc.gemeente, tc.signer))
		})
	}
}

// TestStUFLimitsBeforeParsing: a gemeente over its rate limit is answered
// StUF058 with Retry-After before its request is read, so even bytes that
// are no SOAP at all get the limit's answer, not a parse error; within
// its limit the same bytes are refused as unreadable (RIN001).
func TestStUFLimitsBeforeParsing(t *testing.T) {
	n, err := Start(context.Background(), Config{
		Dev: true, Addr: "127.0.0.1:0",
		Store:    pebble.Config{Dir: t.TempDir()},
		StUF:     StUFConfig{Addr: "127.0.0.1:0"},
		Security: SecurityConfig{Limits: gateway.Limits{Rate: 0.001, Burst: 1}},
		Logger:   zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel),
	})
	require.NoError(t, err)
	defer n.Close()
	post := func() (int, string, string) {
		req, err := http.NewRequest(http.MethodPost, n.StUFURL(), strings.NewReader("no soap here"))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "text/xml; charset=utf-8")
		req.Header.Set("Authorization", "Bearer dev-0363")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(b), resp.Header.Get("Retry-After")
	}
	status, body, _ := post()
	assert.Equal(t, http.StatusInternalServerError, status)
	assert.Contains(t, body, "RIN001", "within the limit the bytes are read and refused")

	status, body, retry := post()
	assert.Equal(t, http.StatusInternalServerError, status)
	assert.Contains(t, body, "StUF058")
	assert.Contains(t, body, gateway.CodeRateLimited)
	assert.NotEmpty(t, retry)
}
