package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/sample"
)

// ggkWSDL is the official StUF-GGk 2.1 WSDL of the switch's SOAP endpoint,
// beside the repository.
const ggkWSDL = "../../../shared/istandaarden/stuf-ggk-2.1/schemas/ggk0310_21/ggkberichten/ggk0310_OntvangAsynchroon.wsdl"

// debianPython is the interpreter the Debian packages python3-zeep and
// python3-xmlsec install into (make test-deps); a python3 earlier on
// PATH (pyenv, a virtualenv) would not see them.
func debianPython(t *testing.T) string {
	t.Helper()
	py := "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		py = "python3"
	}
	if out, err := exec.Command(py, "-c", "import zeep, xmlsec").CombinedOutput(); err != nil {
		t.Fatalf("python3-zeep and python3-xmlsec are needed (make test-deps installs them): %s", out)
	}
	return py
}

// TestZeepSendsADi01WithTheOfficialWSDL: zeep, a SOAP stack the switch's
// authors did not write, loads the official StUF-GGk WSDL and sends a
// ggk_Di01 with a WMO301, signed with WS-Security through python-xmlsec
// (BinarySecurityToken, RSA-SHA256, a Timestamp), to a running `serve`.
// The switch answers a Bv03 that xmlsec1 verifies against its signing
// certificate, and the message reaches the aanbieder's mailbox; the same
// request changed after signing is refused with a fault and stores
// nothing.
func TestZeepSendsADi01WithTheOfficialWSDL(t *testing.T) {
	py, xmlsec1 := zeepTools(t)
	dir := t.TempDir()
	certFile, keyFile := writeRSASigningPair(t, dir)
	n := startNodeProcess(t, "--data", dir+"/data", "--stuf-sign-cert", certFile, "--stuf-sign-key", keyFile)
	soap := n.stufURL(t)

	send := func(extra ...string) (int, string) {
		t.Helper()
		code, req, errs := runCmd("sample", "--type", "WMO301", "--afzender", "0384", "--ontvanger", "42420001", "--stuf")
		require.Equal(t, 0, code, errs)
		reqFile := filepath.Join(dir, "di01.xml")
		require.NoError(t, os.WriteFile(reqFile, []byte(req), 0o600))
		args := append([]string{"testdata/zeep_di01.py", ggkWSDL, soap, "dev-0384", certFile, keyFile, reqFile}, extra...)
		out, err := exec.Command(py, args...).Output()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("zeep: %v: %s", err, ee.Stderr)
		}
		require.NoError(t, err)
		status, body, _ := strings.Cut(string(out), "\n")
		code, err = strconv.Atoi(status)
		require.NoError(t, err, "zeep's output: %s", out)
		return code, body
	}
	verified := func(answer string) string {
		t.Helper()
		path := filepath.Join(dir, "answer.xml")
		require.NoError(t, os.WriteFile(path, []byte(answer), 0o600))
		return verifyWithXmlsec1(t, xmlsec1, certFile, path)
	}
	pending := func() int { // listed without leases (the VSP face), so it can be asked twice
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, n.url+"/berichtenservice/berichten/rest-pull/v1/berichten", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer dev-42420001")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var l []struct {
			Routeringgegevens struct{ Berichtstroom struct{ Berichttype string } }
		}
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&l))
		for _, b := range l {
			assert.Equal(t, "WMO301", b.Routeringgegevens.Berichtstroom.Berichttype)
		}
		return len(l)
	}

	status, answer := send()
	require.Equal(t, http.StatusOK, status, answer)
	assert.Contains(t, answer, "Bv03Bericht")
	assert.Contains(t, verified(answer), "OK")
	require.Equal(t, 1, pending(), "the WMO301 reached the aanbieder")

	status, answer = send("tamper")
	assert.Equal(t, http.StatusInternalServerError, status, "a SOAP fault: %s", answer)
	assert.Contains(t, answer, "Fo03Bericht")
	assert.Contains(t, answer, "KP202", "the signature does not verify")
	verified(answer)
	assert.Equal(t, 1, pending(), "nothing more stored")
}

// writeRSASigningPair writes a self-signed RSA certificate and its key as
// PEM files in dir: zeep's WS-Security signs with RSA.
func writeRSASigningPair(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	return writeCertAndKey(t, dir, "gemeente 0384", key)
}

// zeepTools returns the Debian python that has zeep and python-xmlsec, and
// xmlsec1, after checking that the official WSDL is beside the repository.
func zeepTools(t *testing.T) (py, xmlsec1 string) {
	t.Helper()
	if _, err := os.Stat(ggkWSDL); err != nil {
		t.Fatalf("the official StUF-GGk WSDL is missing: ../shared must be beside the repository: %v", err)
	}
	py = debianPython(t)
	xmlsec1, err := exec.LookPath("xmlsec1")
	require.NoError(t, err, "xmlsec1 (Debian package xmlsec1, make deps)")
	return py, xmlsec1
}

// verifyWithXmlsec1 has xmlsec1 verify the signature of the SOAP message
// in path with the certificate in certFile, every signed part included.
func verifyWithXmlsec1(t *testing.T, xmlsec1, certFile, path string) string {
	t.Helper()
	out, err := exec.Command(xmlsec1, "--verify", "--pubkey-cert-pem", certFile,
		"--id-attr:Id", "Body", "--id-attr:Id", "Timestamp",
		"--id-attr:Id", "Action", "--id-attr:Id", "MessageID", "--id-attr:Id", "To", path).CombinedOutput()
	require.NoError(t, err, "xmlsec1 verifies the signature: %s", out)
	return string(out)
}

// TestPushToAPythonEndpoint: a running serve pushes a WMO305 for a gemeente
// with delivery: push to a small Python endpoint, which answers with a Bv03
// that zeep builds from the official WSDL. xmlsec1 verifies the pushed,
// signed Di01, and the switch takes the Bv03 as the confirmation: the
// message's track & trace ends confirmed.
func TestPushToAPythonEndpoint(t *testing.T) {
	py, xmlsec1 := zeepTools(t)
	dir := t.TempDir()
	pushed := filepath.Join(dir, "pushed")
	require.NoError(t, os.Mkdir(pushed, 0o700))
	portFile := filepath.Join(dir, "port")
	endpoint := exec.Command(py, "testdata/push_endpoint.py", ggkWSDL, pushed, portFile)
	var endpointErr strings.Builder
	endpoint.Stderr = &endpointErr
	require.NoError(t, endpoint.Start())
	t.Cleanup(func() {
		_ = endpoint.Process.Kill()
		_ = endpoint.Wait()
		if t.Failed() {
			t.Logf("push endpoint stderr:\n%s", endpointErr.String())
		}
	})
	var port []byte
	require.Eventually(t, func() bool {
		var err error
		port, err = os.ReadFile(portFile)
		return err == nil
	}, 30*time.Second, 20*time.Millisecond,
		"the push endpoint did not start: %s", &endpointErr)

	digest := func(tok string) string { s := sha256.Sum256([]byte(tok)); return hex.EncodeToString(s[:]) }
	reg := filepath.Join(dir, "registry.yaml")
	require.NoError(t, os.WriteFile(reg, []byte(fmt.Sprintf(`tokens: true
parties:
  - code: "0384"
    role: gemeente
    name: Gemeente Diemen
    credentials: {token_sha256: ["%s"]}
    delivery: push
    push_url: http://127.0.0.1:%s/
  - code: "42420001"
    role: aanbieder
    name: Zorg BV
    credentials: {token_sha256: ["%s"]}
`, digest("t-0384"), port, digest("t-4242"))), 0o600))
	certFile, keyFile := writeRSASigningPair(t, dir)
	n := startNodeProcess(t, "--config", reg, "--data", dir+"/data", "--stuf-sign-cert", certFile, "--stuf-sign-key", keyFile)

	s305, _ := bericht.Lookup("WMO305")
	heen, err := sample.New(77).Heen(s305, sample.Options{Afzender: "42420001", Ontvanger: "0384"})
	require.NoError(t, err)
	status, body := post(t, n.url+"/v1/berichten", "application/xml", "t-4242", heen.XML)
	require.Equal(t, http.StatusAccepted, status, "%s", body)
	var a struct{ ID string }
	require.NoError(t, json.Unmarshal(body, &a))

	first := filepath.Join(pushed, "push-1.xml")
	require.Eventually(t, func() bool { _, err := os.Stat(first); return err == nil }, 30*time.Second, 20*time.Millisecond,
		"nothing pushed: %s", &endpointErr)
	verifyWithXmlsec1(t, xmlsec1, certFile, first)
	push, err := os.ReadFile(first)
	require.NoError(t, err)
	assert.Contains(t, string(push), "<StUF:functie>WMO305</StUF:functie>")

	confirmed := func() bool {
		req, err := http.NewRequest(http.MethodGet, n.url+"/v1/berichten/"+a.ID, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer t-4242")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var tr struct{ Events []struct{ State string } }
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&tr))
		return len(tr.Events) > 0 && tr.Events[len(tr.Events)-1].State == "confirmed"
	}
	require.Eventually(t, confirmed, 30*time.Second, 50*time.Millisecond, "the Bv03 confirmed the push")
}
