package xsd

import (
	"bytes"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRedactedNames: an element or attribute name that is not the
// standard's may name a person; it stays in Message (the sender's own
// text) and never reaches Redacted, while the standard's names do.
func TestRedactedNames(t *testing.T) {
	const person = "Quirijntje"
	valid := generated(t, "WMO301")
	// The element the client's Bsn sits in, with its prefix.
	bsn := regexp.MustCompile(`<([A-Za-z0-9]+:Bsn)>`).FindSubmatch(valid)
	require.NotNil(t, bsn, "the sample has a Bsn")
	for _, c := range []struct {
		name string
		edit func([]byte) []byte
		code string
		keep string // a name of the standard the redacted text keeps
	}{
		{"not well-formed: tag named after a person", func(m []byte) []byte {
			return bytes.Replace(m, []byte("<"+string(bsn[1])+">"), []byte("<"+person+">"), 1)
		}, CodeNotWellFormed, "Bsn"},
		{"unknown element named after a person", func(m []byte) []byte {
			i := bytes.Index(m, []byte("<"+string(bsn[1])+">"))
			return append(append(append([]byte{}, m[:i]...), "<"+person+">x</"+person+">"...), m[i:]...)
		}, CodeInvalid, ""},
		{"prefixed unknown element named after a person", func(m []byte) []byte {
			i := bytes.Index(m, []byte("<"+string(bsn[1])+">"))
			return append(append(append([]byte{}, m[:i]...), "<"+person+":Bsn xmlns:"+person+"=\"urn:"+person+"\">x</"+person+":Bsn>"...), m[i:]...)
		}, CodeInvalid, "Bsn"},
		{"attribute named after a person", func(m []byte) []byte {
			return bytes.Replace(m, []byte("<"+string(bsn[1])+">"), []byte("<"+string(bsn[1])+" "+person+"=\"1\">"), 1)
		}, CodeInvalid, "Bsn"},
	} {
		t.Run(c.name, func(t *testing.T) {
			msg := c.edit(valid)
			_, err := embeddedSet(t).Validate(msg)
			e := refusal(t, err)
			require.Equal(t, c.code, e.Code)
			require.NotEmpty(t, e.Violations)
			inMessage := false
			for _, v := range e.Violations {
				inMessage = inMessage || bytes.Contains([]byte(v.Message), []byte(person))
				assert.NotContains(t, v.Redacted, person, v.Message)
				if c.keep != "" {
					assert.Contains(t, v.Redacted, c.keep, "the standard's name is kept: %s", v.Message)
				}
			}
			assert.True(t, inMessage, "the sender's own text names the element: %v", e.Violations)
			assert.NotContains(t, err.Error(), person)
		})
	}
}

// TestRedactNames: whole names only, the standard's names kept.
func TestRedactNames(t *testing.T) {
	names, ns := foreignNames([]byte(`<iwmo:Client xmlns:Jan="urn:jan" Jan:Piet="x"><Klaas/><Bsn/><Jan·Els/></iwmo:Client>`))
	for _, c := range []struct{ in, want string }{
		{"Opening and ending tag mismatch: Klaas line 5 and Client", "Opening and ending tag mismatch: … line 5 and Client"},
		{"Element '{urn:jan}Piet': This element is not expected.", "Element '{…}…': This element is not expected."},
		{"Element 'Jan:Piet' Klaasje KlaasBsn", "Element '…:…' Klaasje KlaasBsn"},
		{"Element 'Bsn': ok", "Element 'Bsn': ok"},
		{"Premature end of data in tag Jan·Els.", "Premature end of data in tag …."},
		{"and Klaas.", "and …."},
		{"Element '{urn:jan}Jan·Els', attribute 'Jan:Piet': The attribute 'Jan:Piet' is not allowed.",
			"Element '{…}…', attribute '…:…': The attribute '…:…' is not allowed."},
	} {
		assert.Equal(t, c.want, redactNames(c.in, names, ns), c.in)
	}
}

// TestDetailNamesNoPerson: a refusal's Detail (in Error() and the API's
// body) quotes the root element, namespace or BerichtCode only when it is
// the standard's or has its shape.
func TestDetailNamesNoPerson(t *testing.T) {
	const person = "Quirijntje"
	ns := "http://www.istandaarden.nl/iwmo/3_2/wmo301/schema"
	for _, c := range []struct {
		name string
		msg  []byte
		code string
		want string // quoted back: it is the standard's
	}{
		{"root named after a person", []byte(`<` + person + ` xmlns="` + ns + `"/>`), CodeNotBericht, ""},
		{"root of the standard", []byte(`<Client xmlns="` + ns + `"/>`), CodeNotBericht, "Client"},
		{"namespace named after a person", []byte(`<Bericht xmlns="urn:` + person + `"/>`), CodeUnknownNS, ""},
		{"namespace of the standard's shape", []byte(`<Bericht xmlns="http://www.istandaarden.nl/iwmo/3_2/wmo303/schema"/>`), CodeUnknownNS, "wmo303"},
		{"BerichtCode a name", bytes.Replace(generated(t, "WMO301"), []byte(">414<"), []byte(">"+person+"<"), 1), CodeBerichtCode, ""},
		{"BerichtCode another code", bytes.Replace(generated(t, "WMO301"), []byte(">414<"), []byte(">436<"), 1), CodeBerichtCode, "436"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := embeddedSet(t).Validate(c.msg)
			e := refusal(t, err)
			require.Equal(t, c.code, e.Code, e.Detail)
			assert.NotContains(t, err.Error(), person)
			if c.want != "" {
				assert.Contains(t, e.Detail, c.want)
			}
		})
	}
}
