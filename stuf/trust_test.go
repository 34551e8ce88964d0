package stuf_test

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/stuf"
)

// trustSet is a TrustSet for tests: several certificates per party.
type trustSet struct {
	ders     map[string][][]byte
	required map[string]bool
}

func (ts trustSet) Certificates(party string) ([][]byte, bool) {
	return ts.ders[party], ts.required[party]
}

func (ts trustSet) Certificate(party string) ([]byte, bool) {
	if d := ts.ders[party]; len(d) > 0 {
		return d[0], ts.required[party]
	}
	return nil, ts.required[party]
}

// TestVerifyParty walks the registry's signature policy: required or not,
// certificates or none, signed with the old or the new certificate of a
// rollover, another certificate, unsigned.
func TestVerifyParty(t *testing.T) {
	oldS, oldDER := ecdsaSigner(t)
	newS, newDER := ecdsaSigner(t)
	otherS, _ := ecdsaSigner(t)
	signedOld, _ := signedDi01(t, oldS)
	signedNew, _ := signedDi01(t, newS)
	signedOther, _ := signedDi01(t, otherS)
	unsigned, _ := signedDi01(t, nil)
	rollover := [][]byte{oldDER, newDER}
	// Changed after signing: one character of the signed referentienummer.
	changed := bytes.Clone(signedOther)
	at := bytes.Index(changed, []byte("referentienummer>")) + len("referentienummer>")
	require.Greater(t, at, len("referentienummer>"))
	if changed[at] == '1' {
		changed[at] = '2'
	} else {
		changed[at] = '1'
	}
	tests := []struct {
		name     string
		ders     [][]byte
		required bool
		msg      []byte
		want     string // fault code; "" accepted
	}{
		{"required, old certificate", rollover, true, signedOld, ""},
		{"required, new certificate", rollover, true, signedNew, ""},
		{"required, another certificate", rollover, true, signedOther, stuf.CodeSignatureInvalid},
		{"required, unsigned", rollover, true, unsigned, stuf.CodeSignatureMissing},
		{"required, no certificate registered", nil, true, signedOld, stuf.CodeSignatureInvalid},
		{"optional, unsigned", rollover, false, unsigned, ""},
		{"optional, signed", rollover, false, signedNew, ""},
		{"optional, badly signed", rollover, false, signedOther, stuf.CodeSignatureInvalid},
		{"no certificates, not required", nil, false, unsigned, ""},
		{"no certificates, signed with its own", nil, false, signedOther, ""},
		{"no certificates, changed after signing", nil, false, changed, stuf.CodeSignatureInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := trustSet{ders: map[string][][]byte{"0363": tc.ders}, required: map[string]bool{"0363": tc.required}}
			err := stuf.VerifyParty(stuf.Verifier{}, tr, "0363", tc.msg)
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			var f *stuf.Fault
			require.ErrorAs(t, err, &f)
			assert.Equal(t, tc.want, f.Code)
		})
	}
	require.NoError(t, stuf.VerifyParty(stuf.Verifier{}, nil, "0363", signedOther), "nil trust checks nothing")
}
