package stuf_test

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/sample"
	"github.com/knooppunt/knooppunt/stuf"
)

// answer is a Bv03 or a fault as a client reads it.
type answer struct {
	Bv03 *struct {
		Stuurgegevens struct {
			Berichtcode    string `xml:"berichtcode"`
			CrossRefnummer string `xml:"crossRefnummer"`
			Ontvanger      struct {
				Organisatie string `xml:"organisatie"`
			} `xml:"ontvanger"`
		} `xml:"stuurgegevens"`
	} `xml:"Body>Bv03Bericht"`
	Fault *struct {
		Faultcode string `xml:"faultcode"`
		Fo03      struct {
			Stuurgegevens struct {
				Berichtcode    string `xml:"berichtcode"`
				CrossRefnummer string `xml:"crossRefnummer"`
			} `xml:"stuurgegevens"`
			Body struct {
				Code         string `xml:"code"`
				Plek         string `xml:"plek"`
				Omschrijving string `xml:"omschrijving"`
				Details      string `xml:"details"`
			} `xml:"body"`
		} `xml:"detail>Fo03Bericht"`
	} `xml:"Body>Fault"`
}

func readAnswer(t *testing.T, b []byte) answer {
	t.Helper()
	var a answer
	require.NoError(t, xml.Unmarshal(b, &a), "answer: %s", b)
	return a
}

func soort(t *testing.T, name string) bericht.Soort {
	t.Helper()
	s, ok := bericht.Lookup(name)
	require.True(t, ok, name)
	return s
}

// envelopeFor wraps a payload in a Di01 (or, with crossRef, a Du01) from
// zender to ontvanger.
func envelopeFor(m *sample.Message, zender, ontvanger, crossRef string) *stuf.Envelope {
	e := &stuf.Envelope{
		Berichtcode:      "Di01",
		Zender:           stuf.Party{Organisatie: zender, Applicatie: "Gemeentelijk systeem", Administratie: "test"},
		Ontvanger:        stuf.Party{Organisatie: ontvanger, Applicatie: "GGk"},
		Referentienummer: stuf.NewUUID(),
		TijdstipBericht:  stuf.Tijdstip(time.Now()),
		Functie:          m.Soort.Name,
		Bestandsnaam:     m.Soort.Name + ".xml",
		Payload:          m.XML,
	}
	if crossRef != "" {
		e.Berichtcode, e.CrossRefnummer = "Du01", crossRef
	}
	return e
}

func soapOf(t *testing.T, e *stuf.Envelope, signer *stuf.Signer) []byte {
	t.Helper()
	body, err := e.Marshal()
	require.NoError(t, err)
	action := stuf.ActionDi01
	if e.Berichtcode == "Du01" {
		action = stuf.ActionDu01
	}
	msg, err := stuf.Build(stuf.Addressing{Action: action, To: "https://knooppunt.test/ggk"}, body, signer, time.Now())
	require.NoError(t, err)
	return msg
}

// TestRoundTrips sends every message a gemeente sends: heenberichten in a
// Di01, retourberichten and the 325 in a Du01 answering the Di01 the
// switch delivered, for iWmo and iJw, and checks the Bv03 and the stored
// payload.
func TestRoundTrips(t *testing.T) {
	h := newHarness(t)
	g := sample.New(8)
	const gemeente = "0363"
	for _, std := range []string{"WMO", "JW"} {
		for _, n := range []string{"301", "319"} {
			t.Run(std+n, func(t *testing.T) {
				m, err := g.Heen(soort(t, std+n), sample.Options{Afzender: gemeente})
				require.NoError(t, err)
				e := envelopeFor(m, gemeente, m.Header.Ontvanger, "")
				status, body := h.post(gemeente, stuf.ActionDi01, soapOf(t, e, nil))
				require.Equal(t, 200, status, "%s", body)
				a := readAnswer(t, body)
				require.NotNil(t, a.Bv03, "%s", body)
				assert.Equal(t, "Bv03", a.Bv03.Stuurgegevens.Berichtcode)
				assert.Equal(t, e.Referentienummer, a.Bv03.Stuurgegevens.CrossRefnummer)
				assert.Equal(t, gemeente, a.Bv03.Stuurgegevens.Ontvanger.Organisatie)
				last := h.store.stored()[len(h.store.stored())-1]
				assert.Equal(t, m.XML, last.Body)
				assert.Equal(t, m.Header.Ontvanger, last.Route.Recipient)
			})
		}
		for _, heen := range []string{"305", "307", "315", "317", "323"} {
			t.Run(std+heen+"-answer", func(t *testing.T) {
				in, err := g.Heen(soort(t, std+heen), sample.Options{Ontvanger: gemeente})
				require.NoError(t, err)
				// The switch delivered in as a Di01 to the gemeente.
				delivered := stuf.NewUUID()
				require.NoError(t, h.refs.AddDi01(t.Context(), delivered, gemeente))
				out, err := g.Answer(in, sample.AnswerOptions{})
				require.NoError(t, err)
				e := envelopeFor(out, gemeente, in.Header.Afzender, delivered)
				status, body := h.post(gemeente, stuf.ActionDu01, soapOf(t, e, nil))
				require.Equal(t, 200, status, "%s", body)
				a := readAnswer(t, body)
				require.NotNil(t, a.Bv03, "%s", body)
				assert.Equal(t, e.Referentienummer, a.Bv03.Stuurgegevens.CrossRefnummer)
				last := h.store.stored()[len(h.store.stored())-1]
				assert.Equal(t, out.XML, last.Body)
				assert.Equal(t, in.Header.Afzender, last.Route.Recipient)
			})
		}
	}
}

// TestEnvelopeErrors sends one faulty request per envelope rule and checks
// the chain's code in the Fo03 and that nothing was stored.
func TestEnvelopeErrors(t *testing.T) {
	h := newHarness(t)
	g := sample.New(9)
	const gemeente = "0363"
	heen := func() *sample.Message {
		m, err := g.Heen(soort(t, "WMO301"), sample.Options{Afzender: gemeente})
		require.NoError(t, err)
		return m
	}
	di01 := func(mut func(e *stuf.Envelope)) []byte {
		m := heen()
		e := envelopeFor(m, gemeente, m.Header.Ontvanger, "")
		if mut != nil {
			mut(e)
		}
		return soapOf(t, e, nil)
	}
	valid := di01(nil)
	taken := envelopeFor(heen(), gemeente, "", "")
	taken.Ontvanger.Organisatie = "" // filled below
	cases := []struct {
		name   string
		party  string
		action string
		msg    func() []byte
		code   string
	}{
		{"referentienummer not UUID v4", gemeente, "", func() []byte {
			return di01(func(e *stuf.Envelope) { e.Referentienummer = "9c0f7b90-5c69-11e5-a837-0800200c9a66" })
		}, stuf.CodeUUID},
		{"crossRefnummer not UUID v4", gemeente, "", func() []byte {
			in, err := g.Heen(soort(t, "WMO305"), sample.Options{Ontvanger: gemeente})
			require.NoError(t, err)
			out, err := g.Answer(in, sample.AnswerOptions{})
			require.NoError(t, err)
			return soapOf(t, envelopeFor(out, gemeente, in.Header.Afzender, "123456789012"), nil)
		}, stuf.CodeUUID},
		{"Du01 without Di01", gemeente, "", func() []byte {
			in, err := g.Heen(soort(t, "WMO305"), sample.Options{Ontvanger: gemeente})
			require.NoError(t, err)
			out, err := g.Answer(in, sample.AnswerOptions{})
			require.NoError(t, err)
			return soapOf(t, envelopeFor(out, gemeente, in.Header.Afzender, stuf.NewUUID()), nil)
		}, stuf.CodeUnknownCrossRef},
		{"functie is not the payload's berichtsoort", gemeente, "", func() []byte {
			return di01(func(e *stuf.Envelope) { e.Functie = "WMO319" })
		}, stuf.CodeFunctie},
		{"functie unknown", gemeente, "", func() []byte {
			return di01(func(e *stuf.Envelope) { e.Functie = "WMO999" })
		}, stuf.CodeFunctie},
		{"retour functie in a Di01", gemeente, "", func() []byte {
			return di01(func(e *stuf.Envelope) { e.Functie = "WMO302" })
		}, stuf.CodeFunctie},
		{"ontvanger is not the payload's Ontvanger", gemeente, "", func() []byte {
			return di01(func(e *stuf.Envelope) { e.Ontvanger.Organisatie = "00000000" })
		}, stuf.CodeAddressee},
		{"zender is not the caller", "0599", "", func() []byte { return di01(nil) }, stuf.CodeNotAuthorised},
		{"not authenticated", "", "", func() []byte { return di01(nil) }, stuf.CodeNotAuthorised},
		{"payload fails its XSD", gemeente, "", func() []byte {
			return di01(func(e *stuf.Envelope) {
				e.Payload = bytes.Replace(e.Payload, []byte("<wmo301:BerichtVersie>3<"), []byte("<wmo301:BerichtVersie>x<"), 1)
			})
		}, stuf.CodePayload},
		{"payload is not a message", gemeente, "", func() []byte {
			return di01(func(e *stuf.Envelope) { e.Payload = []byte("geen xml") })
		}, stuf.CodePayload},
		{"payload with BOM", gemeente, "", func() []byte {
			return di01(func(e *stuf.Envelope) { e.Payload = append([]byte{0xEF, 0xBB, 0xBF}, e.Payload...) })
		}, stuf.CodePayload},
		{"unknown recipient", gemeente, "", func() []byte {
			m, err := g.Heen(soort(t, "WMO301"), sample.Options{Afzender: gemeente, Ontvanger: "99999999"})
			require.NoError(t, err)
			return soapOf(t, envelopeFor(m, gemeente, "99999999", ""), nil)
		}, stuf.CodeUnknownRecipient},
		{"envelope with BOM", gemeente, "", func() []byte { return append([]byte{0xEF, 0xBB, 0xBF}, di01(nil)...) }, stuf.CodeEnvelope},
		{"envelope not UTF-8", gemeente, "", func() []byte { return append(di01(nil), 0xff) }, stuf.CodeEnvelope},
		{"envelope declares Latin-1", gemeente, "", func() []byte {
			return bytes.Replace(di01(nil), []byte(`encoding="UTF-8"`), []byte(`encoding="ISO-8859-1"`), 1)
		}, stuf.CodeEnvelope},
		{"DOCTYPE", gemeente, "", func() []byte {
			return bytes.Replace(di01(nil), []byte(`?>`), []byte(`?><!DOCTYPE x [<!ENTITY a "b">]>`), 1)
		}, stuf.CodeEnvelope},
		{"not XML", gemeente, "", func() []byte { return []byte("<soap:Envelope") }, stuf.CodeEnvelope},
		{"envelope misses applicatieVersie", gemeente, "", func() []byte {
			msg := di01(nil)
			i, j := bytes.Index(msg, []byte("<GGK:applicatieVersie>")), bytes.Index(msg, []byte("<GGK:applicatieSubversie>"))
			return append(append([]byte(nil), msg[:i]...), msg[j:]...)
		}, stuf.CodeEnvelope},
		{"tijdstipBericht not a tijdstip", gemeente, "", func() []byte {
			return di01(func(e *stuf.Envelope) { e.TijdstipBericht = "gisteren" })
		}, stuf.CodeEnvelope},
		{"bericht not base64", gemeente, "", func() []byte {
			msg := di01(nil)
			i := bytes.Index(msg, []byte(`contentType="application/xml">`)) + len(`contentType="application/xml">`)
			return append(append(append([]byte(nil), msg[:i]...), "!!"...), msg[i:]...)
		}, stuf.CodeEnvelope},
		{"body holds a Bv03", gemeente, "", func() []byte {
			msg, err := stuf.Build(stuf.Addressing{Action: stuf.ActionBv03}, []byte(`<StUF:Bv03Bericht xmlns:StUF="`+stuf.NSStUF+`"><StUF:stuurgegevens><StUF:berichtcode>Bv03</StUF:berichtcode><StUF:zender><StUF:applicatie>abc</StUF:applicatie></StUF:zender><StUF:ontvanger><StUF:applicatie>abc</StUF:applicatie></StUF:ontvanger><StUF:referentienummer>x</StUF:referentienummer><StUF:tijdstipBericht>20260101120000</StUF:tijdstipBericht><StUF:crossRefnummer>y</StUF:crossRefnummer></StUF:stuurgegevens></StUF:Bv03Bericht>`), nil, time.Now())
			require.NoError(t, err)
			return msg
		}, stuf.CodeEnvelope},
		{"SOAPAction of another operation", gemeente, stuf.ActionDu01, func() []byte { return di01(nil) }, stuf.CodeEnvelope},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := len(h.store.stored())
			status, body := h.post(c.party, c.action, c.msg())
			assert.Equal(t, 500, status)
			a := readAnswer(t, body)
			require.NotNil(t, a.Fault, "%s", body)
			assert.Equal(t, c.code, a.Fault.Fo03.Body.Code, "%s", a.Fault.Fo03.Body.Omschrijving)
			assert.Equal(t, "Fo03", a.Fault.Fo03.Stuurgegevens.Berichtcode)
			assert.Contains(t, []string{"client", "server"}, a.Fault.Fo03.Body.Plek)
			assert.NotEmpty(t, a.Fault.Fo03.Body.Omschrijving)
			assert.Len(t, h.store.stored(), before, "a refused message must not be stored")
		})
	}
	t.Run("too large", func(t *testing.T) {
		status, body := h.post(gemeente, "", bytes.Repeat([]byte("a"), stuf.MaxEnvelopeBytes+65<<10))
		assert.Equal(t, 500, status)
		assert.Equal(t, stuf.CodeTooLarge, readAnswer(t, body).Fault.Fo03.Body.Code)
	})
	t.Run("valid control", func(t *testing.T) {
		status, body := h.post(gemeente, stuf.ActionDi01, valid)
		require.Equal(t, 200, status, "%s", body)
	})
	_ = taken
}

// TestReferentienummerUnique: the same (zender, referentienummer) with the
// same payload is an idempotent resend; with another payload it is IB216;
// after a refusal the pair is free again.
func TestReferentienummerUnique(t *testing.T) {
	h := newHarness(t)
	g := sample.New(10)
	const gemeente = "0363"
	m1, err := g.Heen(soort(t, "JW301"), sample.Options{Afzender: gemeente})
	require.NoError(t, err)
	m2, err := g.Heen(soort(t, "JW301"), sample.Options{Afzender: gemeente})
	require.NoError(t, err)
	e1 := envelopeFor(m1, gemeente, m1.Header.Ontvanger, "")
	status, body := h.post(gemeente, "", soapOf(t, e1, nil))
	require.Equal(t, 200, status, "%s", body)
	status, body = h.post(gemeente, "", soapOf(t, e1, nil))
	require.Equal(t, 200, status, "resend: %s", body)
	assert.Len(t, h.store.stored(), 1)

	e2 := envelopeFor(m2, gemeente, m2.Header.Ontvanger, "")
	e2.Referentienummer = e1.Referentienummer
	status, body = h.post(gemeente, "", soapOf(t, e2, nil))
	require.Equal(t, 500, status)
	assert.Equal(t, stuf.CodeNotUnique, readAnswer(t, body).Fault.Fo03.Body.Code)

	// A refused message frees its referentienummer.
	e3 := envelopeFor(m2, gemeente, "00000000", "")
	status, _ = h.post(gemeente, "", soapOf(t, e3, nil))
	require.Equal(t, 500, status)
	e3.Ontvanger.Organisatie = m2.Header.Ontvanger
	status, body = h.post(gemeente, "", soapOf(t, e3, nil))
	require.Equal(t, 200, status, "%s", body)
	assert.Len(t, h.store.stored(), 2)
}

// TestFo01 accepts an error message from a gemeente about a Di01 it was
// pushed with a Bv03.
func TestFo01(t *testing.T) {
	h := newHarness(t)
	fo := &stuf.Fo01{
		Zender:           stuf.Party{Organisatie: "0363", Applicatie: "Wmo Applicatie"},
		Ontvanger:        stuf.Party{Organisatie: "KNOOPPUNT", Applicatie: "GGk"},
		Referentienummer: stuf.NewUUID(), TijdstipBericht: stuf.Tijdstip(time.Now()), CrossRefnummer: stuf.NewUUID(),
		Fault: stuf.Fault{Code: "StUF055", Place: "client", Description: "Berichtbody is niet conform schema"},
	}
	require.NoError(t, h.refs.AddDi01(t.Context(), fo.CrossRefnummer, "0363"))
	msg, err := stuf.Build(stuf.Addressing{Action: stuf.ActionFo01}, fo.Marshal(), nil, time.Now())
	require.NoError(t, err)
	status, body := h.post("0363", stuf.ActionFo01, msg)
	require.Equal(t, 200, status, "%s", body)
	a := readAnswer(t, body)
	require.NotNil(t, a.Bv03)
	assert.Equal(t, fo.Referentienummer, a.Bv03.Stuurgegevens.CrossRefnummer)

	fo.Referentienummer = "1"
	msg, err = stuf.Build(stuf.Addressing{Action: stuf.ActionFo01}, fo.Marshal(), nil, time.Now())
	require.NoError(t, err)
	status, body = h.post("0363", stuf.ActionFo01, msg)
	require.Equal(t, 500, status)
	assert.Equal(t, stuf.CodeUUID, readAnswer(t, body).Fault.Fo03.Body.Code)
}

func TestUUID(t *testing.T) {
	for range 100 {
		u := stuf.NewUUID()
		require.True(t, stuf.IsUUIDv4(u), u)
	}
	for _, bad := range []string{"", "9c0f7b90-5c69-11e5-a837-0800200c9a66", "0E09A81F-64A0-4793-B946-D6538FB3F37E",
		"0e09a81f-64a0-4793-c946-d6538fb3f37e", "0e09a81f64a04793b946d6538fb3f37e", "0e09a81f-64a0-4793-b946-d6538fb3f37"} {
		assert.False(t, stuf.IsUUIDv4(bad), bad)
	}
	assert.True(t, stuf.IsUUIDv4("0e09a81f-64a0-4793-b946-d6538fb3f37e"))
	assert.False(t, strings.Contains(stuf.Tijdstip(time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC)), "."))
	assert.Equal(t, "20260102030405006", stuf.Tijdstip(time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC)))
}
