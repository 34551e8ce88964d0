package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/gateway"
)

// fakeCorrelations finds messages in the fake store by the ids they were
// stored with; a fake store id "M0007" is the UUID …-000000000007.
type fakeCorrelations struct{ s *fakeStore }

func (f fakeCorrelations) Correlation(ctx context.Context, id string) (gateway.Correlation, bool, error) {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	m, ok := f.s.msgs[id]
	if !ok || m.m.Correlation == nil {
		return gateway.Correlation{}, false, nil
	}
	return *gateway.CorrelationOf(m.m.Correlation), true, nil
}

func (f fakeCorrelations) fallback(u string) (string, bool) {
	n, err := strconv.ParseUint(u[24:], 16, 64)
	if err != nil || !strings.HasPrefix(u, "00000000-0000-4000-8000-") {
		return "", false
	}
	return fmt.Sprintf("M%04d", n), true
}

func (f fakeCorrelations) ByTraceer(ctx context.Context, traceer string) (string, bool, error) {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	if id, ok := f.s.traceer[traceer]; ok {
		return id, true, nil
	}
	id, ok := f.fallback(traceer)
	return id, ok, nil
}

func (f fakeCorrelations) ByConversatie(ctx context.Context, conv string) (string, bool, error) {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	if id, ok := f.s.conv[conv]; ok {
		return id, true, nil
	}
	id, ok := f.fallback(conv)
	return id, ok, nil
}

func (f fakeCorrelations) ID(u string) string {
	id, _ := f.fallback(u)
	return id
}

func (f fakeCorrelations) UUID(id string) string {
	n, _ := strconv.Atoi(strings.TrimPrefix(id, "M"))
	return fmt.Sprintf("00000000-0000-4000-8000-%012x", n)
}

const (
	vspPull   = "/berichtenservice/berichten/rest-pull/v1"
	vspPush   = "/berichtenservice/berichten/rest-push/v1"
	vspStatus = "/berichtenservice/berichtstatus/rest-pull/v2"
)

func newVSPHarness(t *testing.T) *harness {
	return newHarness(t, func(c *gateway.Config) { c.Correlations = fakeCorrelations{c.Store.(*fakeStore)} })
}

// metadata is a push's berichtMetadata from afzender to ontvanger.
func metadata(afzender, ontvanger, traceer, conv, answers string) map[string]any {
	ref := map[string]any{"traceerId": traceer, "conversatieId": conv}
	if answers != "" {
		ref["alsAntwoordOp"] = answers
	}
	return map[string]any{
		"routeringgegevens": map[string]any{
			"afzender":       map[string]any{"rol": "gemeente", "code": afzender},
			"geadresseerden": []any{map[string]any{"rol": "aanbieder", "code": ontvanger}},
			"berichtstroom":  map[string]any{"berichttype": "WMO301", "berichtversie": 3, "berichtsubversie": 2, "actie": "Indienen"},
		},
		"referentiegegevens": ref,
	}
}

// push sends a multipart push with the parts given (nil leaves one out).
func (h *harness) push(token string, meta any, payload []byte) response {
	h.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if meta != nil {
		raw, ok := meta.([]byte)
		if !ok {
			var err error
			raw, err = json.Marshal(meta)
			require.NoError(h.t, err)
		}
		hd := textproto.MIMEHeader{}
		hd.Set("Content-Disposition", `form-data; name="berichtMetadata"`)
		hd.Set("Content-Type", "application/json")
		w, err := mw.CreatePart(hd)
		require.NoError(h.t, err)
		w.Write(raw)
	}
	if payload != nil {
		w, err := mw.CreateFormFile("payload", "bericht.xml")
		require.NoError(h.t, err)
		w.Write(payload)
	}
	require.NoError(h.t, mw.Close())
	return h.do(http.MethodPost, vspPush+"/berichten", token, mw.FormDataContentType(), body.Bytes())
}

// listing decodes a pull listing.
func listing(t *testing.T, r response) []map[string]any {
	t.Helper()
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	var out []map[string]any
	require.NoError(t, json.Unmarshal(r.body, &out), string(r.body))
	return out
}

func refs(m map[string]any) map[string]any { return m["referentiegegevens"].(map[string]any) }

// problem decodes a problem-details refusal and checks its shape.
func problem(t *testing.T, r response, status int, code string) map[string]any {
	t.Helper()
	require.Equal(t, status, r.status, string(r.body))
	assert.Equal(t, "application/json", r.header.Get("Content-Type"))
	p := r.json(t)
	assert.Equal(t, code, p["code"], string(r.body))
	assert.Equal(t, float64(status), p["status"])
	assert.Equal(t, "urn:knooppunt:problem:"+code, p["type"])
	assert.NotEmpty(t, p["title"])
	assert.NotEmpty(t, p["detail"])
	return p
}

const (
	heenTraceer = "6f1c2a9e-93e4-4b59-a1d6-2b7c8e0f4a33"
	heenConv    = "0d0b4b8e-4a52-4d0a-9b51-3f0a4f5c2e11"
)

// TestVSPExchange: a heenbericht pushed with its ids is listed to its
// recipient under those ids until confirmed, its payload is the exact
// bytes, a confirmation is 202; the answer, pushed back, is found by the
// heenbericht's ids, and the status follows both.
func TestVSPExchange(t *testing.T) {
	h := newVSPHarness(t)
	heen := msg("WMO301", "0384", "42420001", "H1")
	heenMeta := metadata("0384", "42420001", heenTraceer, heenConv, "")
	heenMeta["verwerkingscontext"] = []any{map[string]any{"sleutel": "batch", "waarde": []any{"7", "8"}}}
	r := h.push("tok-0384", heenMeta, heen)
	require.Equal(t, http.StatusNoContent, r.status, string(r.body))
	assert.Empty(t, r.body)

	// Listed again until confirmed; nothing is leased.
	for range 2 {
		l := listing(t, h.do(http.MethodGet, vspPull+"/berichten", "tok-42420001", "", nil))
		require.Len(t, l, 1)
		assert.Equal(t, map[string]any{"traceerId": heenTraceer, "conversatieId": heenConv}, refs(l[0]))
		assert.Equal(t, heenMeta["verwerkingscontext"], l[0]["verwerkingscontext"], "handed on to the recipient")
		b := l[0]["basisgegevens"].(map[string]any)["payload"].(map[string]any)
		assert.Equal(t, h.url+vspPull+"/berichten/"+heenTraceer+"/payload", b["url"])
		assert.Equal(t, float64(len(heen)), b["grootte"])
		rg := l[0]["routeringgegevens"].(map[string]any)
		assert.Equal(t, map[string]any{"rol": "gemeente", "code": "0384"}, rg["afzender"])
		assert.Equal(t, map[string]any{"berichttype": "WMO301", "berichtversie": float64(3), "berichtsubversie": float64(2), "actie": "Indienen"}, rg["berichtstroom"])
	}
	assert.Empty(t, listing(t, h.do(http.MethodGet, vspPull+"/berichten", "tok-0384", "", nil)), "only the recipient's mailbox")

	p := h.do(http.MethodGet, vspPull+"/berichten/"+heenTraceer+"/payload", "tok-42420001", "", nil)
	require.Equal(t, http.StatusOK, p.status)
	assert.Equal(t, heen, p.body)
	assert.Equal(t, "application/octet-stream", p.header.Get("Content-Type"))
	problem(t, h.do(http.MethodGet, vspPull+"/berichten/"+heenTraceer+"/payload", "tok-65656055", "", nil), 404, "not-found")

	for range 2 { // idempotent
		c := h.do(http.MethodDelete, vspPull+"/berichten/"+strings.ToUpper(heenTraceer), "tok-42420001", "", nil)
		require.Equal(t, http.StatusAccepted, c.status, string(c.body))
	}
	assert.Empty(t, listing(t, h.do(http.MethodGet, vspPull+"/berichten", "tok-42420001", "", nil)))

	// The answer names the heenbericht; the gemeente finds it by search.
	answer := retourMsg("WMO302", "0384", "42420001", "H1", "R1")
	meta := metadata("42420001", "0384", "a3a0c1d2-0000-4000-8000-000000000001", heenConv, heenTraceer)
	meta["routeringgegevens"].(map[string]any)["afzender"] = map[string]any{"rol": "aanbieder", "code": "42420001"}
	meta["routeringgegevens"].(map[string]any)["geadresseerden"] = []any{map[string]any{"rol": "gemeente", "code": "0384"}}
	require.Equal(t, http.StatusNoContent, h.push("tok-42420001", meta, answer).status)
	s := listing(t, h.do(http.MethodPost, vspPull+"/berichten/zoeken", "tok-0384", "application/json",
		[]byte(`{"zoekpadType":"ZoekpadOpAlsAntwoordOp","alsAntwoordOp":"`+heenTraceer+`"}`)))
	require.Len(t, s, 1)
	assert.Equal(t, "a3a0c1d2-0000-4000-8000-000000000001", refs(s[0])["traceerId"])
	assert.Equal(t, heenTraceer, refs(s[0])["alsAntwoordOp"])
	for zoek, want := range map[string]int{
		`{"zoekpadType":"ZoekpadOpConversatieId","conversatieId":"` + heenConv + `"}`:        1,
		`{"zoekpadType":"ZoekpadOpBerichtstroom","berichttype":"WMO302"}`:                    1,
		`{"zoekpadType":"ZoekpadOpBerichtstroom","berichttype":"WMO302","actie":"Indienen"}`: 0,
		`{"zoekpadType":"ZoekpadOpBerichtstroom","berichttype":"WMO301"}`:                    0,
		`{"zoekpadType":"ZoekpadOpAlsAntwoordOp","alsAntwoordOp":"` + heenConv + `"}`:        0,
		`{"zoekpadType":"ZoekpadOpConversatieId","conversatieId":"` + heenConv + `"}` + "\n": 1,
	} {
		got := listing(t, h.do(http.MethodPost, vspPull+"/berichten/zoeken?limit=5", "tok-0384", "application/json", []byte(zoek)))
		assert.Len(t, got, want, zoek)
	}

	// The status: the heenbericht delivered, its answer offered.
	for _, q := range []string{"traceerId=" + heenTraceer, "conversatieId=" + heenConv} {
		for _, tok := range []string{"tok-0384", "tok-42420001"} {
			r := h.do(http.MethodGet, vspStatus+"/berichtstatussen?"+q, tok, "", nil)
			require.Equal(t, http.StatusOK, r.status, string(r.body))
			var st []map[string]any
			require.NoError(t, json.Unmarshal(r.body, &st))
			require.Len(t, st, 2, q)
			assert.Equal(t, "Bezorgd", st[0]["berichtstatus"])
			assert.Equal(t, heenTraceer, refs(st[0])["traceerId"])
			assert.Equal(t, "Aangeboden", st[1]["berichtstatus"])
			assert.Equal(t, map[string]any{"berichttype": "WMO302", "berichtversie": float64(3), "berichtsubversie": float64(2), "actie": "Retourneren"}, st[1]["berichtstroom"])
		}
	}
	r = h.do(http.MethodGet, vspStatus+"/berichtstatussen?traceerId="+heenTraceer, "tok-65656055", "", nil)
	assert.Equal(t, "[]\n", string(r.body), "another party sees nothing")
}

// TestVSPSeesOtherDoors: a message posted on /v1 is listed on the VSP face
// under its id as a UUID, and a /v1 lease keeps it from the VSP listing.
func TestVSPSeesOtherDoors(t *testing.T) {
	h := newVSPHarness(t)
	require.Equal(t, http.StatusAccepted, h.post("tok-0384", msg("WMO301", "0384", "42420001", "V1")).status)
	l := listing(t, h.do(http.MethodGet, vspPull+"/berichten?limit=1", "tok-42420001", "", nil))
	require.Len(t, l, 1)
	id := refs(l[0])["traceerId"].(string)
	assert.Equal(t, "00000000-0000-4000-8000-000000000001", id)
	assert.Equal(t, id, refs(l[0])["conversatieId"], "a heenbericht's conversation is named by it")

	require.Equal(t, http.StatusOK, h.do(http.MethodGet, "/v1/mailbox", "tok-42420001", "", nil).status) // leases it
	assert.Empty(t, listing(t, h.do(http.MethodGet, vspPull+"/berichten", "tok-42420001", "", nil)), "leased on /v1")
	p := h.do(http.MethodGet, vspPull+"/berichten/"+id+"/payload", "tok-42420001", "", nil)
	assert.Equal(t, http.StatusOK, p.status, "the payload is the recipient's, leased or not")
}

// TestVSPPushRefusals: every refusal is a problem with a stable code, the
// fields at fault under errors, and stores nothing.
func TestVSPPushRefusals(t *testing.T) {
	h := newVSPHarness(t)
	good := msg("WMO301", "0384", "42420001", "P1")
	meta := func(mut func(m map[string]any)) map[string]any {
		m := metadata("0384", "42420001", heenTraceer, heenConv, "")
		if mut != nil {
			mut(m)
		}
		return m
	}
	cases := []struct {
		name   string
		meta   any
		body   []byte
		status int
		code   string
		field  string
	}{
		{"no metadata", nil, good, 400, "bad-request", "berichtMetadata"},
		{"no payload", meta(nil), nil, 400, "bad-request", "payload"},
		{"metadata not JSON", []byte("{"), good, 400, "bad-request", "berichtMetadata"},
		{"unknown field", meta(func(m map[string]any) { m["extra"] = 1 }), good, 400, "bad-request", "berichtMetadata"},
		{"traceerId not a UUID", meta(func(m map[string]any) { refs(m)["traceerId"] = "abc" }), good, 400, "bad-request", "berichtMetadata.referentiegegevens.traceerId"},
		{"no conversatieId", meta(func(m map[string]any) { delete(refs(m), "conversatieId") }), good, 400, "bad-request", "berichtMetadata.referentiegegevens.conversatieId"},
		{"no routering", meta(func(m map[string]any) { delete(m, "routeringgegevens") }), good, 400, "bad-request", "berichtMetadata.routeringgegevens"},
		{"verwerkingscontext too large", meta(func(m map[string]any) {
			var kv []any
			for i := range 100 {
				var vs []any
				for range 10 {
					vs = append(vs, strings.Repeat("v", 100))
				}
				kv = append(kv, map[string]any{"sleutel": fmt.Sprint("k", i), "waarde": vs})
			}
			m["verwerkingscontext"] = kv
		}), good, 400, "bad-request", "berichtMetadata.verwerkingscontext"},
		{"referentieId too long", meta(func(m map[string]any) { refs(m)["referentieId"] = strings.Repeat("x", 151) }), good, 400, "bad-request", "berichtMetadata.referentiegegevens.referentieId"},
		{"payload not XML", meta(nil), []byte("MALFORMED"), 422, "not-well-formed", "payload"},
		{"payload invalid", meta(nil), msg("WMO301", "0384", "42420001", "INVALID"), 422, "xsd-invalid", "payload"},
		{"other afzender", meta(func(m map[string]any) {
			m["routeringgegevens"].(map[string]any)["afzender"] = map[string]any{"rol": "gemeente", "code": "0363"}
		}), good, 422, "metadata-mismatch", "berichtMetadata.routeringgegevens.afzender.code"},
		{"other geadresseerde", meta(func(m map[string]any) {
			m["routeringgegevens"].(map[string]any)["geadresseerden"] = []any{map[string]any{"rol": "aanbieder", "code": "65656055"}}
		}), good, 422, "metadata-mismatch", "berichtMetadata.routeringgegevens.geadresseerden"},
		{"unknown recipient", metadata("0384", "99999999", heenTraceer, heenConv, ""), msg("WMO301", "0384", "99999999", "P2"), 422, "unknown-recipient", "payload"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := problem(t, h.push("tok-0384", c.meta, c.body), c.status, c.code)
			errs, _ := p["errors"].(map[string]any)
			assert.Contains(t, errs, c.field, "%v", p)
		})
	}
	assert.Empty(t, listing(t, h.do(http.MethodGet, vspPull+"/berichten", "tok-42420001", "", nil)), "nothing refused was stored")
	problem(t, h.do(http.MethodPost, vspPush+"/berichten", "tok-0384", "application/xml", good), 415, "unsupported-media-type")
	problem(t, h.push("", meta(nil), good), 401, "unauthenticated")

	// A resend is 204 and delivered once; the same traceerId on another
	// message is refused before anything is stored.
	for range 2 {
		require.Equal(t, http.StatusNoContent, h.push("tok-0384", meta(nil), good).status)
	}
	p := problem(t, h.push("tok-0384", meta(nil), msg("WMO301", "0384", "42420001", "P3")), 422, "traceer-id-taken")
	assert.Contains(t, p["errors"], "berichtMetadata.referentiegegevens.traceerId")
	assert.Len(t, listing(t, h.do(http.MethodGet, vspPull+"/berichten", "tok-42420001", "", nil)), 1)
}

// TestVSPRequestRefusals: bad parameters and search bodies are 400 with the
// field named; unknown paths below the face are problem-details 404s.
func TestVSPRequestRefusals(t *testing.T) {
	h := newVSPHarness(t)
	for _, q := range []string{"?limit=0", "?limit=251", "?limit=x"} {
		p := problem(t, h.do(http.MethodGet, vspPull+"/berichten"+q, "tok-42420001", "", nil), 400, "bad-request")
		assert.Contains(t, p["errors"], "limit")
	}
	for body, field := range map[string]string{
		`{"zoekpadType":"Anders"}`:                 "zoekpadType",
		`{"zoekpadType":"ZoekpadOpBerichtstroom"}`: "berichttype",
		`{"zoekpadType":"ZoekpadOpBerichtstroom","berichttype":"WMO301","alsAntwoordOp":"x"}`:  "alsAntwoordOp",
		`{"zoekpadType":"ZoekpadOpConversatieId","conversatieId":"nope"}`:                      "conversatieId",
		`{"zoekpadType":"ZoekpadOpBerichtstroom","berichttype":"WMO301","berichtversie":1000}`: "berichtversie",
		`[1]`: "zoekpad",
	} {
		p := problem(t, h.do(http.MethodPost, vspPull+"/berichten/zoeken", "tok-0384", "application/json", []byte(body)), 400, "bad-request")
		assert.Contains(t, p["errors"], field, body)
	}
	for _, q := range []string{"", "?traceerId=" + heenTraceer + "&conversatieId=" + heenConv, "?traceerId=nope"} {
		problem(t, h.do(http.MethodGet, vspStatus+"/berichtstatussen"+q, "tok-0384", "", nil), 400, "bad-request")
	}
	problem(t, h.do(http.MethodGet, "/berichtenservice/elders", "tok-0384", "", nil), 404, "not-found")
	problem(t, h.do(http.MethodDelete, vspPull+"/berichten/"+heenTraceer, "tok-0384", "", nil), 404, "not-found")
	problem(t, h.do(http.MethodDelete, vspPull+"/berichten/not-a-uuid", "tok-0384", "", nil), 404, "not-found")
	problem(t, h.do(http.MethodGet, vspPull+"/berichten", "tok-operator", "", nil), 403, "not-a-party")
}

// TestVSPFaceOnlyWithCorrelations: without a Correlations port the face is
// not served.
func TestVSPFaceOnlyWithCorrelations(t *testing.T) {
	h := newHarness(t)
	r := h.do(http.MethodGet, vspPull+"/berichten", "tok-42420001", "", nil)
	assert.Equal(t, http.StatusNotFound, r.status)
}
