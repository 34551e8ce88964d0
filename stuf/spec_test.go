package stuf_test

import (
	"bytes"
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/sample"
	"github.com/knooppunt/knooppunt/stuf"
)

// The envelope rules of the StUF-GGk 2.1 specification that its schema
// does not carry.

// postDi01 sends a WMO301 from gemeente 0363 in a Di01 changed by mut and
// returns the answer.
func postDi01(t *testing.T, h *harness, seed int64, mut func(*stuf.Envelope)) (int, answer) {
	t.Helper()
	m, err := sample.New(seed).Heen(soort(t, "WMO301"), sample.Options{Afzender: "0363"})
	require.NoError(t, err)
	e := envelopeFor(m, "0363", m.Header.Ontvanger, "")
	if mut != nil {
		mut(e)
	}
	status, body := h.post("0363", stuf.ActionDi01, soapOf(t, e, nil))
	return status, readAnswer(t, body)
}

// TestOntvangerApplicatieGGk: ontvanger/applicatie is the fixed value
// "GGk" (sections 3.1 to 3.3); another value is refused with RIN001.
func TestOntvangerApplicatieGGk(t *testing.T) {
	h := newHarness(t)
	for _, app := range []string{"Knooppunt", "GGK", "ggk "} {
		status, a := postDi01(t, h, 21, func(e *stuf.Envelope) { e.Ontvanger.Applicatie = app })
		require.Equal(t, 500, status, app)
		require.NotNil(t, a.Fault, app)
		assert.Equal(t, stuf.CodeEnvelope, a.Fault.Fo03.Body.Code, app)
	}
	assert.Empty(t, h.store.stored())

	fo := fo01(stuf.NewUUID())
	fo.Ontvanger.Applicatie = "Knooppunt"
	require.NoError(t, h.refs.AddDi01(t.Context(), fo.CrossRefnummer, "0363"))
	status, body := h.post("0363", stuf.ActionFo01, soapOfFo01(t, fo))
	require.Equal(t, 500, status, "%s", body)
	assert.Equal(t, stuf.CodeEnvelope, readAnswer(t, body).Fault.Fo03.Body.Code)

	status, _ = postDi01(t, h, 22, nil)
	assert.Equal(t, 200, status, "GGk is accepted")
}

// TestTijdstipBericht: tijdstipBericht is when the envelope was made; one
// that is no real moment, or lies far in the past or the future, is
// refused with RIN001.
func TestTijdstipBericht(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	h := newHarness(t, func(c *stuf.Config) { c.Now = func() time.Time { return now } })
	for _, ts := range []string{
		"19000101000000",    // 1900
		"20260101",          // more than 62 days ago
		"20260312120000",    // two days ahead
		"20261310120000",    // no 13th month
		"20260230120000",    // no 30 February
		"20260310250000",    // no 25th hour
		"202603101",         // 9 digits: the schema allows them, a tijdstip does not
		"2026031012000000a", // not digits (the schema refuses this already)
	} {
		status, a := postDi01(t, h, 23, func(e *stuf.Envelope) { e.TijdstipBericht = ts })
		require.Equal(t, 500, status, ts)
		require.NotNil(t, a.Fault, ts)
		assert.Equal(t, stuf.CodeEnvelope, a.Fault.Fo03.Body.Code, ts)
	}
	assert.Empty(t, h.store.stored())
	for i, ts := range []string{"20260310", "20260310130000123", "20260311110000", "20260110120000"} {
		status, a := postDi01(t, h, int64(30+i), func(e *stuf.Envelope) { e.TijdstipBericht = ts })
		assert.Equal(t, 200, status, "%s: %+v", ts, a.Fault)
	}
}

func TestParseTijdstip(t *testing.T) {
	for s, want := range map[string]time.Time{
		"20260102":          time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC),
		"2026010203":        time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC),
		"202601020304":      time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC),
		"20260102030405":    time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		"202601020304051":   time.Date(2026, 1, 2, 3, 4, 5, 100e6, time.UTC),
		"20260102030405006": time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC),
	} {
		got, err := stuf.ParseTijdstip(s)
		require.NoError(t, err, s)
		assert.Equal(t, want, got, s)
	}
	for _, s := range []string{"", "2026010", "202601020", "20261302", "20260102240000", "202601020304050061", "2026-01-02"} {
		_, err := stuf.ParseTijdstip(s)
		assert.Error(t, err, s)
	}
	got, err := stuf.ParseTijdstip(stuf.Tijdstip(time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC)))
	require.NoError(t, err)
	assert.Equal(t, time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC), got)
}

// TestMarshalVersionsAndBestandsnaam: functieVersie and functieSubversie
// are the payload's release (section 2.6: 0003 and 0002 for iWmo/iJw
// 3.2), and an XML payload carries no bestandsnaam (section 2.7).
func TestMarshalVersionsAndBestandsnaam(t *testing.T) {
	for _, name := range []string{"WMO301", "JW315", "WMO302"} {
		e := &stuf.Envelope{Berichtcode: "Di01", Functie: name, Bestandsnaam: name + ".xml", Payload: []byte("<x/>")}
		if name == "WMO302" {
			e.Berichtcode = "Du01"
		}
		el, err := e.Marshal()
		require.NoError(t, err)
		assert.Contains(t, string(el), "<GGK:functieVersie>0003</GGK:functieVersie><GGK:functieSubversie>0002</GGK:functieSubversie>", name)
		assert.NotContains(t, string(el), "bestandsnaam", name)
	}
	v, sv, err := stuf.FunctieVersies("3.2")
	require.NoError(t, err)
	assert.Equal(t, [2]string{"0003", "0002"}, [2]string{v, sv})
	for _, bad := range []string{"", "3", "3.x", "12345.1"} {
		_, _, err := stuf.FunctieVersies(bad)
		assert.Error(t, err, bad)
	}
	e := &stuf.Envelope{Berichtcode: "Di01", Functie: "WMO301", FunctieVersie: "0004", FunctieSubversie: "0001", Payload: []byte("<x/>")}
	el, err := e.Marshal()
	require.NoError(t, err)
	assert.Contains(t, string(el), "<GGK:functieVersie>0004</GGK:functieVersie><GGK:functieSubversie>0001</GGK:functieSubversie>", "set versions are kept")
}

func fo01(crossRef string) *stuf.Fo01 {
	return &stuf.Fo01{
		Zender:           stuf.Party{Organisatie: "0363", Applicatie: "Wmo Applicatie"},
		Ontvanger:        stuf.Party{Organisatie: "KNOOPPUNT", Applicatie: "GGk"},
		Referentienummer: stuf.NewUUID(), TijdstipBericht: stuf.Tijdstip(time.Now()), CrossRefnummer: crossRef,
		Fault: stuf.Fault{Code: "StUF055", Place: "client", Description: "Berichtbody is niet conform schema"},
	}
}

func soapOfFo01(t *testing.T, fo *stuf.Fo01) []byte {
	t.Helper()
	msg, err := stuf.Build(stuf.Addressing{Action: stuf.ActionFo01}, fo.Marshal(), nil, time.Now())
	require.NoError(t, err)
	return msg
}

// TestFo01CrossRef: a Fo01's crossRefnummer is the referentienummer of
// the Di01 it is about (section 3.1); one that names no Di01 the switch
// received or pushed is refused with KP101, as a Du01's is.
func TestFo01CrossRef(t *testing.T) {
	h := newHarness(t)
	status, body := h.post("0363", stuf.ActionFo01, soapOfFo01(t, fo01(stuf.NewUUID())))
	require.Equal(t, 500, status, "%s", body)
	assert.Equal(t, stuf.CodeUnknownCrossRef, readAnswer(t, body).Fault.Fo03.Body.Code)

	pushed := stuf.NewUUID()
	require.NoError(t, h.refs.AddDi01(t.Context(), pushed, "0363"))
	status, body = h.post("0363", stuf.ActionFo01, soapOfFo01(t, fo01(pushed)))
	require.Equal(t, 200, status, "%s", body)
	assert.NotNil(t, readAnswer(t, body).Bv03)
}

// TestTooLargeIsServer: IB007 goes with place server, as the chain's error
// list gives it.
func TestTooLargeIsServer(t *testing.T) {
	h := newHarness(t)
	status, body := h.post("0363", "", bytes.Repeat([]byte("a"), stuf.MaxEnvelopeBytes+65<<10))
	require.Equal(t, 500, status)
	a := readAnswer(t, body)
	assert.Equal(t, stuf.CodeTooLarge, a.Fault.Fo03.Body.Code)
	assert.Equal(t, stuf.PlaceServer, a.Fault.Fo03.Body.Plek)
	assert.Equal(t, "soap:Server", a.Fault.Faultcode)
}

// TestCodesInChainList: every code the door answers is in the ISD-keten
// error list (Foutcodes 2.1), a StUF 03.01 code (StUFnnn) or the switch's
// own (KPnnn) — never another chain party's code the list does not name.
func TestCodesInChainList(t *testing.T) {
	list, err := os.ReadFile(officialGGK + "/spec/Foutcodes_asynchroon_berichtenverkeer_ISD-keten_2.1_patch_04_revisie_3.txt")
	if os.IsNotExist(err) {
		t.Skip("the ISD-keten error list is not in ../shared")
	}
	require.NoError(t, err)
	own := regexp.MustCompile(`^(KP|StUF)[0-9]{3}$`)
	for _, code := range []string{
		stuf.CodeEnvelope, stuf.CodePayload, stuf.CodeNotAuthorised, stuf.CodeTooLarge, stuf.CodeUUID,
		stuf.CodeNoRoute, stuf.CodeUnknownRecipient, stuf.CodeNotUnique, stuf.CodeFunctie, stuf.CodeAddressee,
		stuf.CodeUnknownCrossRef, stuf.CodeSignatureMissing, stuf.CodeSignatureInvalid, stuf.CodeTimestamp,
		stuf.CodeReplay, stuf.CodeServer, stuf.CodeFunctieOrganisatie, stuf.CodeIdentificatie,
	} {
		if own.MatchString(code) {
			continue
		}
		assert.True(t, regexp.MustCompile(`\b`+code+`\b`).Match(list), "%s is not in the chain's error list", code)
	}
}
