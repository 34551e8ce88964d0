package gateway_test

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"testing"

	"github.com/knooppunt/knooppunt/gateway"
)

// FuzzVSP sends arbitrary berichtMetadata and payload parts to the VSP
// push, arbitrary Zoekpad bodies to the search, and arbitrary raw bodies
// and query strings to both: every answer must be a status the face gives,
// never a 5xx, and every refusal problem details with a code.
func FuzzVSP(f *testing.F) {
	meta, _ := json.Marshal(metadata("0384", "42420001", heenTraceer, heenConv, ""))
	f.Add(string(meta), string(msg("WMO301", "0384", "42420001", "F1")), `{"zoekpadType":"ZoekpadOpBerichtstroom","berichttype":"WMO301"}`, "limit=3", true)
	f.Add(`{"referentiegegevens":{"traceerId":"x"}}`, "MALFORMED", `{"zoekpadType":"ZoekpadOpConversatieId","conversatieId":1}`, "limit=x", true)
	f.Add("{", "", "[", "traceerId=%zz", false)
	parties := newParties()
	st := newStore()
	srv, err := gateway.New(gateway.Config{
		AllowTokens: true, MaxBodyBytes: 1 << 16,
		Limits:    gateway.Limits{Rate: -1, Concurrent: -1},
		Validator: fakeValidator{}, Router: &fakeRouter{parties: parties, store: st}, Store: st, Parties: parties,
		Correlations: fakeCorrelations{st},
	})
	if err != nil {
		f.Fatal(err)
	}
	h := srv.Handler()
	known := map[int]bool{200: true, 202: true, 204: true, 400: true, 401: true, 403: true, 404: true, 405: true,
		413: true, 415: true, 422: true}
	f.Fuzz(func(t *testing.T, metaPart, payload, zoekpad, query string, multipartBody bool) {
		do := func(method, path, contentType string, body []byte) {
			req, err := http.NewRequest(method, "http://knooppunt"+path, bytes.NewReader(body))
			if err != nil {
				return // not a request a client could send
			}
			req.Header.Set("Authorization", "Bearer tok-0384")
			req.Header.Set("Content-Type", contentType)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if !known[w.Code] {
				t.Fatalf("%s %s: status %d: %s", method, path, w.Code, w.Body)
			}
			if w.Code >= 400 {
				var p struct {
					Code   string
					Status int
				}
				if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || p.Code == "" || p.Status != w.Code {
					t.Fatalf("%s %s: status %d without problem details: %q", method, path, w.Code, w.Body)
				}
			}
		}
		if multipartBody {
			var b bytes.Buffer
			mw := multipart.NewWriter(&b)
			hd := textproto.MIMEHeader{}
			hd.Set("Content-Disposition", `form-data; name="berichtMetadata"`)
			hd.Set("Content-Type", "application/json")
			if w, err := mw.CreatePart(hd); err == nil {
				w.Write([]byte(metaPart))
			}
			if w, err := mw.CreateFormFile("payload", "p.xml"); err == nil {
				w.Write([]byte(payload))
			}
			mw.Close()
			do(http.MethodPost, vspPush+"/berichten", mw.FormDataContentType(), b.Bytes())
		} else {
			do(http.MethodPost, vspPush+"/berichten", "multipart/form-data; boundary=x", []byte(metaPart+payload))
		}
		do(http.MethodPost, vspPull+"/berichten/zoeken?"+query, "application/json", []byte(zoekpad))
		do(http.MethodGet, vspStatus+"/berichtstatussen?"+query, "", nil)
		do(http.MethodGet, vspPull+"/berichten?"+query, "", nil)
	})
}
