package vspclient_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/internal/vspclient"
	"github.com/knooppunt/knooppunt/internal/vspclient/pull"
	"github.com/knooppunt/knooppunt/internal/vspclient/push"
	"github.com/knooppunt/knooppunt/internal/vspclient/status"
)

const descriptionDir = "../../../shared/istandaarden/vecozo-vsp-openapi"

const (
	pullBase   = "/berichtenservice/berichten/rest-pull/v1"
	pushBase   = "/berichtenservice/berichten/rest-push/v1"
	statusBase = "/berichtenservice/berichtstatus/rest-pull/v2"
)

// wantStatus asks the fake server for a response status, so one client
// call can reach each status an operation documents.
const wantStatus = "X-Test-Status"

var (
	traceerID    = uuid.MustParse("e1efb57c-9e95-478f-976a-3a80cf797129")
	conversatie  = uuid.MustParse("0b6f3c0e-3c1a-4c55-9d5e-7f7b0c5d2a11")
	payloadBytes = []byte("<Bericht/>")
)

// newChecker loads the three VSP descriptions from ../shared, or skips.
func newChecker(t *testing.T) *vspclient.Checker {
	t.Helper()
	names := []string{
		"VSP-Koppeling_Berichtuitwisseling_REST_Pull_V1_-_1.0.0.json",
		"VSP-Koppeling_Berichtuitwisseling_REST_Push_V1_-_1.0.2.json",
		"VSP-Koppeling_Berichtstatus_REST_Pull_V2_-_2.1.0.json",
	}
	var paths []string
	for _, n := range names {
		p := filepath.Join(descriptionDir, n)
		if _, err := os.Stat(p); err != nil {
			t.Skipf("skipping: the VSP OpenAPI description %s is not there (../shared beside the repository)", p)
		}
		paths = append(paths, p)
	}
	c, err := vspclient.NewChecker(paths...)
	require.NoError(t, err)
	return c
}

// fakeVSP serves the three APIs the way the descriptions say, except
// where a test sets one of its fields.
type fakeVSP struct {
	deleteStatus int                  // BevestigOntvangst's success status; 202 if zero
	editListed   func(map[string]any) // changes the BerichtMetadata GetBerichten lists
}

func (f *fakeVSP) handler(t *testing.T) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+pullBase+"/berichten", func(w http.ResponseWriter, r *http.Request) {
		if answered(w, r) {
			return
		}
		m := toMap(t, metadata(r))
		if f.editListed != nil {
			f.editListed(m)
		}
		writeJSON(w, http.StatusOK, "application/json", []any{m})
	})
	mux.HandleFunc("POST "+pullBase+"/berichten/zoeken", func(w http.ResponseWriter, r *http.Request) {
		if answered(w, r) {
			return
		}
		writeJSON(w, http.StatusOK, "application/json", []pull.BerichtMetadata{metadata(r)})
	})
	mux.HandleFunc("GET "+pullBase+"/berichten/{id}/payload", func(w http.ResponseWriter, r *http.Request) {
		if answered(w, r) {
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(payloadBytes)
	})
	mux.HandleFunc("DELETE "+pullBase+"/berichten/{id}", func(w http.ResponseWriter, r *http.Request) {
		if answered(w, r) {
			return
		}
		w.WriteHeader(cmp(f.deleteStatus, http.StatusAccepted))
	})
	mux.HandleFunc("POST "+pushBase+"/berichten", func(w http.ResponseWriter, r *http.Request) {
		if answered(w, r) {
			return
		}
		meta, payload, err := readPush(r)
		if err != nil || meta.Referentiegegevens.TraceerId != traceerID || !bytes.Equal(payload, payloadBytes) {
			writeJSON(w, http.StatusBadRequest, "application/json", map[string]any{"title": "bad push", "status": 400})
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET "+statusBase+"/berichtstatussen", func(w http.ResponseWriter, r *http.Request) {
		if answered(w, r) {
			return
		}
		at := time.Date(2026, 3, 2, 10, 4, 5, 0, time.FixedZone("", 3600))
		meldingen := []status.Melding{{Code: "0001", Omschrijving: "Bericht is ontvangen."}}
		writeJSON(w, http.StatusOK, "application/json", []status.BerichtstatusGegevens{{
			Referentiegegevens:       status.Referentiegegevens{ConversatieId: conversatie, TraceerId: traceerID},
			Berichtstroom:            status.Berichtstroom{Berichttype: "WMO301", Berichtversie: 3, Berichtsubversie: 2, Actie: "Aanleveren"},
			Berichtstatus:            status.Ontvangen,
			BerichtstatusGewijzigdOp: at,
			BerichtOntvangenOp:       at,
			Meldingen:                &meldingen,
		}})
	})
	return mux
}

func cmp(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// answered writes the status the request asks for with wantStatus, with
// the body the descriptions give it, and reports whether it did.
func answered(w http.ResponseWriter, r *http.Request) bool {
	code, _ := strconv.Atoi(r.Header.Get(wantStatus))
	switch code {
	case 0:
		return false
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		writeJSON(w, code, "application/json", map[string]any{
			"type": "https://tools.ietf.org/html/rfc9110#section-15.5.1", "title": "One or more validation errors occurred.",
			"status": code, "errors": map[string][]string{"limit": {"te groot"}},
		})
	case http.StatusNotFound:
		w.WriteHeader(code)
	default:
		writeJSON(w, code, "application/problem+json", map[string]any{"title": http.StatusText(code), "status": code})
	}
	return true
}

func writeJSON(w http.ResponseWriter, code int, contentType string, v any) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func toMap(t *testing.T, v any) map[string]any {
	b, err := json.Marshal(v)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	return m
}

func metadata(r *http.Request) pull.BerichtMetadata {
	base := "http://" + r.Host + pullBase
	return pull.BerichtMetadata{
		Basisgegevens: pull.Basisgegevens{
			OntvangenOp: time.Date(2026, 3, 2, 10, 4, 5, 0, time.UTC),
			Payload: pull.HTTPSDownload{
				Url:      base + "/berichten/" + traceerID.String() + "/payload",
				Grootte:  int64(len(payloadBytes)),
				Checksum: pull.Checksum{Algoritme: "SHA256", Waarde: "572872fa7358008060ae2d0f91b4ee2df8cf1c26f521413f5036fb6ad913ce69"},
			},
		},
		Routeringgegevens: pull.Routeringgegevens{
			Afzender:       pull.Relatie{Rol: "Gemeente", Code: ptr("0363")},
			Geadresseerden: []pull.Relatie{{Rol: "Zorgaanbieder", Code: ptr("12345678")}},
			Berichtstroom:  pull.Berichtstroom{Berichttype: "WMO301", Berichtversie: 3, Berichtsubversie: 2, Actie: "Aanleveren"},
		},
		Referentiegegevens: pull.Referentiegegevens{ConversatieId: conversatie, TraceerId: traceerID},
	}
}

func ptr[T any](v T) *T { return &v }

// readPush reads a PostBericht body as the description lays it out.
func readPush(r *http.Request) (meta push.BerichtMetadata, payload []byte, err error) {
	if err := r.ParseMultipartForm(1 << 20); err != nil {
		return meta, nil, err
	}
	if err := json.Unmarshal([]byte(r.MultipartForm.Value["berichtMetadata"][0]), &meta); err != nil {
		return meta, nil, err
	}
	f, _, err := r.FormFile("payload")
	if err != nil {
		return meta, nil, err
	}
	defer f.Close()
	payload, err = io.ReadAll(f)
	return meta, payload, err
}

// pushBody encodes a PostBericht body: the generated model holds the
// fields; each part gets the Content-Type the description's encoding gives.
func pushBody(t *testing.T, body push.PostBerichtMultipartRequestBody) (contentType string, r io.Reader) {
	t.Helper()
	payload, err := body.Payload.Bytes()
	require.NoError(t, err)
	contentType, raw, err := vspclient.PushBody(body.BerichtMetadata, payload, body.Payload.Filename())
	require.NoError(t, err)
	return contentType, bytes.NewReader(raw)
}

func pushMetadata() push.BerichtMetadata {
	return push.BerichtMetadata{
		Routeringgegevens: push.Routeringgegevens{
			Afzender:       push.Relatie{Rol: "Zorgaanbieder", Code: ptr("12345678")},
			Geadresseerden: []push.Relatie{{Rol: "Gemeente", Code: ptr("0363")}},
			Berichtstroom:  push.Berichtstroom{Berichttype: "WMO302", Berichtversie: 3, Berichtsubversie: 2, Actie: "Aanleveren"},
		},
		Referentiegegevens: push.Referentiegegevens{ConversatieId: conversatie, TraceerId: traceerID},
	}
}

type clients struct {
	pull   *pull.ClientWithResponses
	push   *push.ClientWithResponses
	status *status.ClientWithResponses
}

// start runs f's server and returns the generated clients, each going
// through c's transport.
func start(t *testing.T, f *fakeVSP, c *vspclient.Checker) clients {
	t.Helper()
	srv := httptest.NewServer(f.handler(t))
	t.Cleanup(srv.Close)
	hc := &http.Client{Transport: c.Transport(http.DefaultTransport)}
	pc, err := pull.NewClientWithResponses(srv.URL+pullBase, pull.WithHTTPClient(hc))
	require.NoError(t, err)
	uc, err := push.NewClientWithResponses(srv.URL+pushBase, push.WithHTTPClient(hc))
	require.NoError(t, err)
	sc, err := status.NewClientWithResponses(srv.URL+statusBase, status.WithHTTPClient(hc))
	require.NoError(t, err)
	return clients{pull: pc, push: uc, status: sc}
}

// exercise calls every operation for every status its description lists,
// and GetBerichten once for an undocumented 503.
func exercise(t *testing.T, cl clients) {
	t.Helper()
	ctx := context.Background()
	for _, code := range []int{0, 400, 503} {
		res, err := cl.pull.GetBerichtenWithResponse(ctx, &pull.GetBerichtenParams{Limit: ptr(10)}, ask(code))
		require.NoError(t, err)
		if code == 0 {
			require.NotNil(t, res.JSON200, "GetBerichten")
			require.Len(t, *res.JSON200, 1)
		}
	}

	search := pull.ZoekpadOpBerichtstroom{ZoekpadType: "ZoekpadOpBerichtstroom", Berichttype: "WMO301"}
	searchJSON, err := json.Marshal(search)
	require.NoError(t, err)
	for _, code := range []int{0, 400} {
		res, err := cl.pull.ZoekBerichtenWithBodyWithResponse(ctx, nil, "application/json", bytes.NewReader(searchJSON), ask(code))
		require.NoError(t, err)
		if code == 0 {
			require.NotNil(t, res.JSON200, "ZoekBerichten")
		}
	}

	for _, code := range []int{0, 404} {
		res, err := cl.pull.GetPayloadWithResponse(ctx, traceerID, ask(code))
		require.NoError(t, err)
		if code == 0 {
			require.Equal(t, payloadBytes, res.Body)
		}
		_, err = cl.pull.BevestigOntvangstWithResponse(ctx, traceerID, ask(code))
		require.NoError(t, err)
	}

	for _, code := range []int{0, 400, 422} {
		body := push.PostBerichtMultipartRequestBody{BerichtMetadata: pushMetadata()}
		body.Payload.InitFromBytes(payloadBytes, "bericht.xml")
		contentType, r := pushBody(t, body)
		_, err := cl.push.PostBerichtWithBodyWithResponse(ctx, contentType, r, ask(code))
		require.NoError(t, err)
	}

	for _, code := range []int{0, 400} {
		res, err := cl.status.ZoekBerichtstatussenWithResponse(ctx, &status.ZoekBerichtstatussenParams{TraceerId: &traceerID}, ask(code))
		require.NoError(t, err)
		if code == 0 {
			require.NotNil(t, res.JSON200, "ZoekBerichtstatussen")
		}
	}
}

func ask(code int) func(context.Context, *http.Request) error {
	return func(_ context.Context, r *http.Request) error {
		if code != 0 {
			r.Header.Set(wantStatus, strconv.Itoa(code))
		}
		return nil
	}
}

func TestCheckerPassesWhatTheDescriptionsSay(t *testing.T) {
	c := newChecker(t)
	exercise(t, start(t, &fakeVSP{}, c))
	assert.Empty(t, c.Failures())
	assert.Empty(t, c.Unexercised())
	assert.Equal(t, []string{"GetBerichten 503"}, c.Undocumented())
	assert.Equal(t, map[string][]int{
		"GetBerichten":         {200, 400, 503},
		"ZoekBerichten":        {200, 400},
		"GetPayload":           {200, 404},
		"BevestigOntvangst":    {202, 404},
		"PostBericht":          {204, 400, 422},
		"ZoekBerichtstatussen": {200, 400},
	}, c.Seen())
}

func TestCheckerReportsExactlyTheMismatch(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fake   fakeVSP
		strict bool
		want   string
	}{
		{"acknowledgement answers 204", fakeVSP{deleteStatus: http.StatusNoContent}, false, "BevestigOntvangst 204: status not in the description"},
		{"listed message lacks referentiegegevens", fakeVSP{editListed: func(m map[string]any) {
			delete(m, "referentiegegevens")
		}}, false, "GetBerichten 200 response:"},
		{"traceerId without hyphens", fakeVSP{editListed: func(m map[string]any) {
			m["referentiegegevens"].(map[string]any)["traceerId"] = strings.ReplaceAll(traceerID.String(), "-", "")
		}}, false, "GetBerichten 200 response:"},
		{"payload URL is relative", fakeVSP{editListed: func(m map[string]any) {
			m["basisgegevens"].(map[string]any)["payload"].(map[string]any)["url"] = pullBase + "/berichten/" + traceerID.String() + "/payload"
		}}, false, "GetBerichten 200 response:"},
		{"strict status", fakeVSP{}, true, "GetBerichten 503: status not in the description"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newChecker(t)
			c.StrictStatus = tc.strict
			exercise(t, start(t, &tc.fake, c))
			failures := c.Failures()
			require.Len(t, failures, 1, "%q", failures)
			assert.True(t, strings.HasPrefix(failures[0], tc.want), "%s", failures[0])
		})
	}
}

func TestCheckerReportsBadRequests(t *testing.T) {
	ctx := context.Background()

	t.Run("limit out of range", func(t *testing.T) {
		c := newChecker(t)
		cl := start(t, &fakeVSP{}, c)
		_, err := cl.pull.GetBerichtenWithResponse(ctx, &pull.GetBerichtenParams{Limit: ptr(251)})
		require.NoError(t, err)
		failures := c.Failures()
		require.Len(t, failures, 1, "%q", failures)
		assert.Contains(t, failures[0], "GetBerichten request:")
		assert.Contains(t, failures[0], "limit")
	})

	for _, tc := range []struct{ name, body, want string }{
		{"search without berichttype", `{"zoekpadType":"ZoekpadOpBerichtstroom","actie":"Aanleveren"}`, "berichttype"},
		{"search of an unknown type", `{"zoekpadType":"ZoekpadOpDatum"}`, "ZoekpadOpDatum"},
		{"search with a field of another type", `{"zoekpadType":"ZoekpadOpConversatieId","conversatieId":"` + conversatie.String() + `","berichttype":"WMO301"}`, "berichttype"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newChecker(t)
			cl := start(t, &fakeVSP{}, c)
			_, err := cl.pull.ZoekBerichtenWithBodyWithResponse(ctx, nil, "application/json", strings.NewReader(tc.body))
			require.NoError(t, err)
			failures := c.Failures()
			require.Len(t, failures, 1, "%q", failures)
			assert.Contains(t, failures[0], "ZoekBerichten request:")
			assert.Contains(t, failures[0], tc.want)
		})
	}

	t.Run("multipart metadata without referentiegegevens", func(t *testing.T) {
		c := newChecker(t)
		cl := start(t, &fakeVSP{}, c)
		meta := toMap(t, pushMetadata())
		delete(meta, "referentiegegevens")
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="berichtMetadata"`)
		h.Set("Content-Type", "application/json")
		p, err := w.CreatePart(h)
		require.NoError(t, err)
		require.NoError(t, json.NewEncoder(p).Encode(meta))
		fw, err := w.CreateFormFile("payload", "bericht.xml")
		require.NoError(t, err)
		fw.Write(payloadBytes)
		require.NoError(t, w.Close())

		res, err := cl.push.PostBerichtWithBodyWithResponse(ctx, w.FormDataContentType(), &buf)
		require.NoError(t, err)
		assert.Equal(t, http.StatusBadRequest, res.StatusCode())
		failures := c.Failures()
		require.Len(t, failures, 1, "%q", failures)
		assert.Contains(t, failures[0], "PostBericht request:")
		assert.Contains(t, failures[0], "referentiegegevens")
	})

	t.Run("path not in the descriptions", func(t *testing.T) {
		c := newChecker(t)
		srv := httptest.NewServer(http.NotFoundHandler())
		t.Cleanup(srv.Close)
		hc := &http.Client{Transport: c.Transport(nil)}
		res, err := hc.Get(srv.URL + pullBase + "/onbekend")
		require.NoError(t, err)
		res.Body.Close()
		assert.Equal(t, []string{"GET " + pullBase + "/onbekend: no operation in the descriptions"}, c.Failures())
	})
}
