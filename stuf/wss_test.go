package stuf_test

import (
	"bytes"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/sample"
	"github.com/knooppunt/knooppunt/stuf"
)

// signedDi01 is a Di01 from gemeente 0363, signed by s.
func signedDi01(t *testing.T, s *stuf.Signer) ([]byte, *stuf.Envelope) {
	t.Helper()
	m, err := sample.New(time.Now().UnixNano()).Heen(soort(t, "WMO301"), sample.Options{Afzender: "0363"})
	require.NoError(t, err)
	e := envelopeFor(m, "0363", m.Header.Ontvanger, "")
	return soapOf(t, e, s), e
}

func faultCode(t *testing.T, b []byte) string {
	t.Helper()
	a := readAnswer(t, b)
	require.NotNil(t, a.Fault, "%s", b)
	return a.Fault.Fo03.Body.Code
}

// TestSignatures: a party registered with a certificate must sign with
// exactly that one; tampering with any signed part, an unsigned
// addressing header, an expired Timestamp or another certificate is KP202,
// no signature KP201. Answers are signed by the switch.
func TestSignatures(t *testing.T) {
	for _, kind := range []string{"rsa", "ecdsa"} {
		t.Run(kind, func(t *testing.T) {
			mk := rsaSigner
			if kind == "ecdsa" {
				mk = ecdsaSigner
			}
			party, partyCert := mk(t)
			other, _ := mk(t)
			sw, swCert := mk(t)
			h := newHarness(t, func(c *stuf.Config) {
				c.Trust = trust{"0363": partyCert}
				c.Signer = sw
			})

			msg, _ := signedDi01(t, party)
			status, body := h.post("0363", "", msg)
			require.Equal(t, 200, status, "%s", body)
			require.NoError(t, stuf.Verifier{}.Verify(body, swCert), "the Bv03 is signed by the switch")

			tamper := func(re, repl string) func() []byte {
				return func() []byte {
					msg, _ := signedDi01(t, party)
					out := regexp.MustCompile(re).ReplaceAll(msg, []byte(repl))
					require.NotEqual(t, msg, out, "tampering changed nothing: %s", re)
					return out
				}
			}
			cases := []struct {
				name string
				msg  func() []byte
				code string
			}{
				{"unsigned", func() []byte { m, _ := signedDi01(t, nil); return m }, stuf.CodeSignatureMissing},
				{"signed by another key", func() []byte { m, _ := signedDi01(t, other); return m }, stuf.CodeSignatureInvalid},
				{"body changed", tamper(`<GGK:applicatieVersie>0001<`, `<GGK:applicatieVersie>0002<`), stuf.CodeSignatureInvalid},
				{"payload changed", tamper(`(<GGK:bericht[^>]*>)[A-Za-z0-9+/]{4}`, `${1}AAAA`), stuf.CodeSignatureInvalid},
				{"action changed", tamper(`ggk_Di01</wsa:Action>`, `ggk_Du01</wsa:Action>`), stuf.CodeSignatureInvalid},
				{"timestamp changed", tamper(`<wsu:Expires>[^<]*<`, `<wsu:Expires>2099-01-01T00:00:00Z<`), stuf.CodeSignatureInvalid},
				{"signature value changed", tamper(`<ds:SignatureValue>[A-Za-z0-9+/]{4}`, `<ds:SignatureValue>AAAA`), stuf.CodeSignatureInvalid},
				{"unsigned addressing header added", tamper(`<wsse:Security`, `<wsa:ReplyTo><wsa:Address>https://evil.test</wsa:Address></wsa:ReplyTo><wsse:Security`), stuf.CodeSignatureInvalid},
				{"body reference removed", tamper(`<ds:Reference URI="#id-body">.*?</ds:Reference>`, ``), stuf.CodeSignatureInvalid},
				{"duplicate id (wrapping)", tamper(`<wsse:Security`, `<wsa:Foo wsu:Id="id-body"/><wsse:Security`), stuf.CodeSignatureInvalid},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					before := len(h.store.stored())
					status, body := h.post("0363", "", c.msg())
					assert.Equal(t, 500, status)
					assert.Equal(t, c.code, faultCode(t, body))
					assert.Len(t, h.store.stored(), before)
				})
			}
		})
	}
}

// TestTimestampExpired: a correctly signed message past its Expires (plus
// skew) is refused with KP203, and accepted at the time it was signed.
func TestTimestampExpired(t *testing.T) {
	party, cert := rsaSigner(t)
	m, err := sample.New(3).Heen(soort(t, "WMO301"), sample.Options{Afzender: "0363"})
	require.NoError(t, err)
	body, err := envelopeFor(m, "0363", m.Header.Ontvanger, "").Marshal()
	require.NoError(t, err)
	old, err := stuf.Build(stuf.Addressing{Action: stuf.ActionDi01}, body, party, time.Now().Add(-time.Hour))
	require.NoError(t, err)
	err = stuf.Verifier{}.Verify(old, cert)
	var f *stuf.Fault
	require.ErrorAs(t, err, &f)
	assert.Equal(t, stuf.CodeTimestamp, f.Code)
	require.NoError(t, stuf.Verifier{Now: func() time.Time { return time.Now().Add(-time.Hour) }}.Verify(old, cert))
}

// TestSignedIsExclusiveC14N: the SignedInfo names exclusive C14N and
// SHA-256 and has a Reference for body, timestamp and each wsa header.
func TestSignedIsExclusiveC14N(t *testing.T) {
	s, _ := rsaSigner(t)
	msg, _ := signedDi01(t, s)
	assert.Contains(t, string(msg), `<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"`)
	assert.Contains(t, string(msg), `http://www.w3.org/2001/04/xmlenc#sha256`)
	for _, id := range []string{"#id-body", "#id-timestamp", "#id-action", "#id-messageid", "#id-to"} {
		assert.Contains(t, string(msg), `URI="`+id+`"`)
	}
	assert.NotContains(t, string(msg), "xml-c14n11")
	assert.False(t, bytes.Contains(msg, []byte("\n  <")), "never indented after signing")
}
