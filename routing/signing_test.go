package routing

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testCert returns a fresh self-signed certificate as DER and PEM.
func testCert(t *testing.T, cn string) ([]byte, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn}, NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1<<33, 0)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	return der, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

func indent(s string) string {
	return "          " + strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n          ")
}

func signingRegistry(certs string, require bool) string {
	return fmt.Sprintf(`parties:
  - code: "0363"
    role: gemeente
    name: Gemeente Amsterdam
    require_signature: %v
    signing_certificates:%s
`, require, certs)
}

func TestSigningCertificates(t *testing.T) {
	der, pemText := testCert(t, "gemeente")
	der2, pem2 := testCert(t, "gemeente-next")
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "next.pem"), []byte(pem2), 0o600))
	sum := sha256.Sum256(der)
	regFile := filepath.Join(dir, "registry.yaml")
	require.NoError(t, os.WriteFile(regFile, []byte(signingRegistry(fmt.Sprintf(`
      - pem: |
%s
        sha256: %s
      - pem_file: next.pem`, indent(pemText), hex.EncodeToString(sum[:])), true)), 0o600))

	r, err := Load(regFile) // pem_file relative to the registry file
	require.NoError(t, err)
	p, ok := r.Party("0363")
	require.True(t, ok)
	assert.True(t, p.RequireSignature)
	assert.Equal(t, [][]byte{der, der2}, p.SigningCertificates)

	r, err = Parse([]byte(signingRegistry(" []", false)))
	require.NoError(t, err)
	p, _ = r.Party("0363")
	assert.False(t, p.RequireSignature)
	assert.Empty(t, p.SigningCertificates)
}

func TestSigningCertificateProblems(t *testing.T) {
	_, pemText := testCert(t, "gemeente")
	other := sha256.Sum256([]byte("other"))
	keyPEM := "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
	tests := []struct {
		name, certs string
		require     bool
		want        string
	}{
		{"required without certificates", " []", true, "require_signature needs at least one signing_certificates entry"},
		{"neither pem nor file", "\n      - sha256: " + hex.EncodeToString(other[:]), false, "signing certificate 1: needs pem or pem_file"},
		{"both pem and file", "\n      - pem_file: x.pem\n        pem: |\n" + indent(pemText), false, "pem and pem_file are exclusive"},
		{"fingerprint mismatch", "\n      - sha256: " + hex.EncodeToString(other[:]) + "\n        pem: |\n" + indent(pemText), false, "sha256 does not match the certificate"},
		{"not a certificate", "\n      - pem: |\n" + indent(keyPEM), false, `PEM block is "PRIVATE KEY", not CERTIFICATE`},
		{"not PEM", "\n      - pem: hello", false, "no PEM block"},
		{"two blocks", "\n      - pem: |\n" + indent(pemText+pemText), false, "more than one PEM block"},
		{"missing file", "\n      - pem_file: /nonexistent/k2.pem", false, "reading pem_file"},
		{"unknown key", "\n      - pem_path: x.pem", false, `unknown key "pem_path"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(signingRegistry(tc.certs, tc.require)))
			var ce *ConfigError
			require.ErrorAs(t, err, &ce)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestSigningCertificateProblemsAllReported(t *testing.T) {
	_, err := Parse([]byte(signingRegistry("\n      - pem: a\n      - pem: b", true)))
	var ce *ConfigError
	require.ErrorAs(t, err, &ce)
	assert.Len(t, ce.Problems, 2, "%v", err)
}
