package main

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSampleStUFRequestIsAccepted sends what `sample --stuf` writes to the
// gemeente door of a running switch, as curl would: it is answered with a
// Bv03 and the toewijzing reaches the aanbieder's mailbox.
func TestSampleStUFRequestIsAccepted(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a switch process; skipped with -short")
	}
	n := startNodeProcess(t, "--data", t.TempDir()+"/data")
	soap := n.stufURL(t)
	code, req, errs := runCmd("sample", "--type", "WMO301", "--afzender", "0384", "--ontvanger", "42420001", "--stuf")
	require.Equal(t, 0, code, errs)

	status, body := post(t, soap, "text/xml; charset=utf-8", "dev-0384", []byte(req))
	require.Equal(t, http.StatusOK, status, "%s", body)
	assert.Contains(t, string(body), "Bv03Bericht")

	hr, err := http.NewRequest(http.MethodGet, n.url+"/v1/mailbox", nil)
	require.NoError(t, err)
	hr.Header.Set("Authorization", "Bearer dev-42420001")
	resp, err := http.DefaultClient.Do(hr)
	require.NoError(t, err)
	defer resp.Body.Close()
	list, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Contains(t, string(list), `"berichtsoort":"WMO301"`)
	assert.Contains(t, string(list), `"afzender":"0384"`)

	code, _, errs = runCmd("sample", "--type", "WMO302", "--stuf")
	assert.Equal(t, 2, code, "a retourbericht is a Du01's payload")
	assert.Contains(t, errs, "answer")
	code, _, _ = runCmd("sample", "--type", "WMO301", "--sign-cert", "c.pem", "--sign-key", "k.pem")
	assert.Equal(t, 2, code, "signing needs --stuf")
}

// TestSampleStUFSignatureVerifiesWithXmlsec1 signs a request with
// `sample --stuf --sign-cert --sign-key` and has xmlsec1 (Debian package
// xmlsec1, a verifier we did not write) check it: every reference (Body,
// Timestamp, the WS-Addressing headers) and the signature value; a changed
// payload fails.
func TestSampleStUFSignatureVerifiesWithXmlsec1(t *testing.T) {
	bin, err := exec.LookPath("xmlsec1")
	if err != nil {
		t.Skip("xmlsec1 is not on PATH (Debian package xmlsec1)")
	}
	dir := t.TempDir()
	certFile, keyFile := writeSigningPair(t, dir)
	code, req, errs := runCmd("sample", "--type", "JW315", "--afzender", "42420001", "--ontvanger", "0599",
		"--stuf", "--sign-cert", certFile, "--sign-key", keyFile)
	require.Equal(t, 0, code, errs)
	require.Contains(t, req, "wsse:Security")

	verify := func(msg string) (bool, string) {
		path := filepath.Join(dir, "request.xml")
		require.NoError(t, os.WriteFile(path, []byte(msg), 0o600))
		out, err := exec.Command(bin, "--verify", "--pubkey-cert-pem", certFile,
			"--id-attr:Id", "Body", "--id-attr:Id", "Timestamp",
			"--id-attr:Id", "Action", "--id-attr:Id", "MessageID", path).CombinedOutput()
		return err == nil, string(out)
	}
	ok, out := verify(req)
	require.True(t, ok, "xmlsec1: %s", out)
	assert.Contains(t, out, "SignedInfo References (ok/all): 4/4")

	start := strings.Index(req, "<GGK:bericht")
	require.Positive(t, start)
	at := strings.Index(req[start:], ">") + start + 10 // a base64 character of the payload
	swap := "A"
	if req[at] == 'A' {
		swap = "B"
	}
	changed := req[:at] + swap + req[at+1:]
	ok, out = verify(changed)
	assert.False(t, ok, "a changed payload must not verify: %s", out)
}

// writeSigningPair writes a self-signed ECDSA certificate and its key as
// PEM files in dir.
func writeSigningPair(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	return writeCertAndKey(t, dir, "aanbieder 42420001", key)
}

// writeCertAndKey writes a self-signed certificate for key, named cn, and
// the key (PKCS #8) as PEM files in dir.
func writeCertAndKey(t *testing.T, dir, cn string, key crypto.Signer) (certFile, keyFile string) {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	require.NoError(t, err)
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	certFile, keyFile = filepath.Join(dir, cn+"-cert.pem"), filepath.Join(dir, cn+"-key.pem")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), 0o600))
	return certFile, keyFile
}

// post sends body to url with a bearer token and returns the status and
// the answer.
func post(t *testing.T, url, ctype, token string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, b
}
