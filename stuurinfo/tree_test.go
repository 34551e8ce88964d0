package stuurinfo

import (
	"bytes"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/sample"
	"github.com/knooppunt/knooppunt/xsd"
)

// TestTreeFactsAgreeWithExtract holds the tree reading to the tag scanner:
// the tap reads a message's facts from its validation tree, the JetStream
// follower and the scanner's callers from its bytes, and both must count
// alike. A ReferentieAanbieder written with a character reference is among
// the messages, since the tree has it decoded.
func TestTreeFactsAgreeWithExtract(t *testing.T) {
	set, err := xsd.Load(xsd.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = set.Close() })
	g := sample.New(47)
	ref := regexp.MustCompile(`<([a-z0-9]+:)?ReferentieAanbieder>[^<]{2}`)
	entities := 0
	for _, name := range []string{"WMO301", "WMO305", "WMO307", "WMO315", "WMO317", "WMO319", "WMO323",
		"JW301", "JW305", "JW307", "JW315", "JW317", "JW319", "JW323"} {
		for _, opt := range []sample.AnswerOptions{{}, {Reject: "9063"}, {RetourCodes: []string{"0001"}}} {
			m := heen(t, g, name, sample.Options{Products: 2, Clients: 2})
			a := answer(t, g, m, opt)
			bodies := [][]byte{m.XML, a.XML}
			if loc := ref.FindIndex(m.XML); loc != nil {
				amp := bytes.Clone(m.XML[:loc[1]-2])
				amp = append(amp, "&#65;&amp;"...)
				bodies = append(bodies, append(amp, m.XML[loc[1]:]...))
			}
			for k, body := range bodies {
				_, tree, err := set.ValidateTree(body)
				if k == 2 && err != nil {
					continue // the reference's type does not allow '&'
				}
				require.NoError(t, err, "%s %+v", name, opt)
				want, err := extract(body)
				require.NoError(t, err)
				got, err := treeFacts(tree)
				require.NoError(t, err)
				assert.Equal(t, want, got, "%s %+v body %d", name, opt, k)
				if k == 2 {
					entities++
					assert.Contains(t, got.refs[0], "A&", "%s: the reference is decoded", name)
				}
			}
		}
	}
	assert.Positive(t, entities, "no message with a character reference in ReferentieAanbieder validated")
}
