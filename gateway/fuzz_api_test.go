package gateway_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/knooppunt/knooppunt/gateway"
)

// FuzzAPI sends arbitrary methods, paths, headers and bodies through the
// whole handler (with the fakes behind it): every answer must be a known
// status, and every error a JSON body with a code.
func FuzzAPI(f *testing.F) {
	f.Add("POST", "/v1/berichten", "tok-0384", "application/xml", string(msg("WMO301", "0384", "42420001", "Z1")))
	f.Add("POST", "/v1/berichten/batch", "tok-0384", "application/zip", "PK\x03\x04")
	f.Add("GET", "/v1/mailbox?limit=3", "tok-42420001", "", "")
	f.Add("DELETE", "/v1/mailbox/M0001", "tok-42420001", "", "")
	f.Add("GET", "/v1/berichten/M0001", "tok-operator", "", "")
	f.Add("PUT", "/v1/validate", "tok-x", "text/xml; charset=latin1", "MALFORMED")
	f.Add("GET", "/v1//mailbox/../x", "tok-0384", "", "")
	parties := newParties()
	st := newStore()
	srv, err := gateway.New(gateway.Config{
		AllowTokens: true, MaxBodyBytes: 1 << 16,
		Limits:    gateway.Limits{Rate: -1, Concurrent: -1}, // fuzzed apart (FuzzLimiter); here they would only answer 429
		Validator: fakeValidator{}, Router: &fakeRouter{parties: parties, store: st}, Store: st, Parties: parties,
	})
	if err != nil {
		f.Fatal(err)
	}
	h := srv.Handler()
	known := map[int]bool{200: true, 202: true, 204: true, 400: true, 401: true, 403: true, 404: true, 405: true,
		409: true, 413: true, 415: true, 422: true, 503: true}
	f.Fuzz(func(t *testing.T, method, path, token, contentType, body string) {
		if len(path) == 0 || path[0] != '/' {
			path = "/" + path
		}
		req, err := http.NewRequest(method, "http://knooppunt"+path, bytes.NewReader([]byte(body)))
		if err != nil {
			return // not a request a client could send
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", contentType)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if !known[w.Code] {
			t.Fatalf("%s %s: status %d: %s", method, path, w.Code, w.Body)
		}
		if w.Code >= 400 {
			var e struct{ Code, Message string }
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Code == "" || e.Message == "" {
				t.Fatalf("%s %s: status %d without a JSON error: %q", method, path, w.Code, w.Body)
			}
		}
	})
}
