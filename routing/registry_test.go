package routing

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/bericht"
)

// newCert makes a self-signed client certificate with the given subject.
func newCert(t *testing.T, cn, org string) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: cn, Organization: []string{org}, Country: []string{"NL"}},
		NotBefore:    time.Unix(0, 0),
		NotAfter:     time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC),
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return cert
}

func colonHex(sum [32]byte) string {
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = strings.ToUpper(hex.EncodeToString([]byte{b}))
	}
	return strings.Join(parts, ":")
}

func TestByCertificate(t *testing.T) {
	byFP := newCert(t, "fp.example", "By Fingerprint")
	bySubject := newCert(t, "subject.example", "By Subject")
	both := newCert(t, "both.example", "Both")
	sameSubject := newCert(t, "both.example", "Both") // another key, same subject
	stranger := newCert(t, "stranger.example", "Nobody")
	fpBoth := Fingerprint(both)

	r, err := New(Config{Parties: []PartyConfig{
		{Code: "0384", Role: Gemeente, Name: "a", Credentials: Credentials{Certificates: []CertificateConfig{{SHA256: colonHex(Fingerprint(byFP))}}}},
		{Code: "42420001", Role: Aanbieder, Name: "b", Credentials: Credentials{Certificates: []CertificateConfig{{Subject: bySubject.Subject.String()}}}},
		{Code: "65656055", Role: Aanbieder, Name: "c", Credentials: Credentials{Certificates: []CertificateConfig{{SHA256: hex.EncodeToString(fpBoth[:]), Subject: both.Subject.String()}}}},
	}})
	require.NoError(t, err)

	tests := []struct {
		name string
		cert *x509.Certificate
		want string // empty: no match
	}{
		{"fingerprint, written with colons", byFP, "0384"},
		{"subject alone", bySubject, "42420001"},
		{"fingerprint and subject", both, "65656055"},
		{"same subject, other key", sameSubject, ""},
		{"unknown certificate", stranger, ""},
		{"no certificate", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, ok := r.ByCertificate(tt.cert)
			if tt.want == "" {
				assert.False(t, ok)
				assert.Nil(t, p)
				return
			}
			require.True(t, ok)
			assert.Equal(t, tt.want, p.ID)
		})
	}

	p, ok := r.ByFingerprint(Fingerprint(byFP))
	require.True(t, ok)
	assert.Equal(t, "0384", p.ID)
	_, ok = r.ByFingerprint(fpBoth)
	assert.False(t, ok, "a fingerprint bound to a subject needs the certificate")
}

func TestByToken(t *testing.T) {
	cfg := Config{Tokens: true, Parties: []PartyConfig{
		{Code: "0384", Role: Gemeente, Name: "a", Credentials: Credentials{TokenSHA256: []string{TokenDigest("old"), strings.ToUpper(TokenDigest("new"))}}},
	}}
	r, err := New(cfg)
	require.NoError(t, err)
	for _, tok := range []string{"old", "new"} {
		p, ok := r.ByToken(tok)
		require.True(t, ok, tok)
		assert.Equal(t, "0384", p.ID)
	}
	for _, tok := range []string{"", "ol", "old ", TokenDigest("old")} {
		_, ok := r.ByToken(tok)
		assert.False(t, ok, "%q", tok)
	}

	cfg.Tokens = false
	cfg.Parties[0].Credentials.TokenSHA256 = nil
	r, err = New(cfg)
	require.NoError(t, err)
	_, ok := r.ByToken("old")
	assert.False(t, ok)
	assert.False(t, r.TokensEnabled())
}

func TestMailboxOfAndMayActFor(t *testing.T) {
	r := devWith(t, setParty("0599", inactive))
	for code, want := range map[string]string{
		"0363": "0363", "0384": "0384", "0599": "0599", "0606": "swv-demo-isd",
		"42420001": "42420001", "swv-demo-isd": "swv-demo-isd",
	} {
		box, ok := r.MailboxOf(code)
		require.True(t, ok, code)
		assert.Equal(t, want, box, code)
	}
	for _, code := range []string{"9999", "operator", ""} {
		_, ok := r.MailboxOf(code)
		assert.False(t, ok, code)
	}

	tests := []struct {
		principal, code string
		want            bool
	}{
		{"0384", "0384", true},
		{"0384", "0363", false},
		{"swv-demo-isd", "0606", true},
		{"swv-demo-isd", "swv-demo-isd", true},
		{"swv-demo-isd", "0384", false},
		{"42420001", "42420001", true},
		{"42420001", "65656055", false},
		{"0599", "0599", false}, // inactive
		{"operator", "operator", false},
		{"operator", "0384", false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, r.MayActFor(principal(t, r, tt.principal), tt.code), "%s for %s", tt.principal, tt.code)
	}
	assert.False(t, r.MayActFor(nil, "0384"))
}

func TestReleases(t *testing.T) {
	r := devWith(t, func(c *Config) {
		c.Releases = map[string][]string{"ijw": {"3.2"}}
		setParty("65656055", func(p *PartyConfig) { p.Releases = map[string][]string{"ijw": {"3.2"}} })(c)
	})
	assert.True(t, r.ReleaseActive(bericht.IJw, "3.2"))
	assert.False(t, r.ReleaseActive(bericht.IWmo, "3.2"))
	assert.False(t, r.ReleaseActive(bericht.IJw, "3.1"))
	assert.Equal(t, []string{"3.2"}, principal(t, r, "65656055").Releases(bericht.IJw))
	assert.Empty(t, principal(t, r, "65656055").Releases(bericht.IWmo))
	assert.Nil(t, principal(t, r, "0384").Releases(bericht.IJw), "follows the registry")

	def := DevRegistry()
	assert.True(t, def.ReleaseActive(bericht.IWmo, bericht.Release))
	assert.True(t, def.ReleaseActive(bericht.IJw, bericht.Release))
}

func TestDevRegistry(t *testing.T) {
	r := DevRegistry()
	require.True(t, r.TokensEnabled())
	for _, code := range []string{"0363", "0384", "0599", "42420001", "65656055", "12345678"} {
		p, ok := r.Party(code)
		require.True(t, ok, code)
		assert.True(t, p.Active)
		assert.Empty(t, p.HandledBy, "%s is reached directly, as in the published examples", code)
		q, ok := r.ByToken("dev-" + code)
		require.True(t, ok, code)
		assert.Same(t, p, q)
	}
	op, ok := r.ByToken("dev-operator")
	require.True(t, ok)
	assert.Equal(t, Operator, op.Role)
	assert.Equal(t, "swv-demo-isd", principal(t, r, "0606").HandledBy)

	tokens := DevTokens()
	require.Len(t, tokens, len(r.Principals())-1, "everyone but 0606 has a token")
	for _, tok := range tokens {
		p, ok := r.ByToken(tok.Token)
		require.True(t, ok, tok.ID)
		assert.Equal(t, tok.ID, p.ID)
		assert.Equal(t, tok.Role, p.Role)
		assert.Equal(t, "dev-"+tok.ID, tok.Token)
	}
	_, ok = r.ByToken("dev-0606")
	assert.False(t, ok)
}

func TestPrincipalsSorted(t *testing.T) {
	ids := []string{}
	for _, p := range DevRegistry().Principals() {
		ids = append(ids, p.ID)
	}
	assert.IsIncreasing(t, ids)
	assert.Contains(t, ids, "swv-demo-isd")
}

func TestInactiveCredentials(t *testing.T) {
	r := devWith(t, func(c *Config) {
		setParty("42420001", inactive)(c)
		f := false
		c.Principals[0].Active = &f // the operator
	})
	p, ok := r.ByToken("dev-42420001")
	require.True(t, ok, "an inactive party still reads its mailbox")
	assert.False(t, p.Active)
	_, ok = r.ByToken("dev-operator")
	assert.False(t, ok, "an inactive operator cannot authenticate")
	_, ok = r.Principal("operator")
	assert.True(t, ok)
}
