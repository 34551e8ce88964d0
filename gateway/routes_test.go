package gateway_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/audit"
	"github.com/knooppunt/knooppunt/gateway"
)

// echoPrincipal answers with the caller's id as PrincipalFrom gives it.
var echoPrincipal = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	p, ok := gateway.PrincipalFrom(r.Context())
	if !ok {
		http.Error(w, "no principal", http.StatusInternalServerError)
		return
	}
	w.Write([]byte("hello " + p.ID))
})

// readAll answers 413 when the body exceeds the endpoint's bound.
var readAll = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	if _, err := io.ReadAll(r.Body); err != nil {
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		return
	}
	w.WriteHeader(http.StatusNoContent)
})

// TestEndpointsPassTheGuard: an endpoint of another package gets the
// authenticated caller and passes the role table, the limits and the
// audit record like a built-in one.
func TestEndpointsPassTheGuard(t *testing.T) {
	newServer := func(aud gateway.Auditor, limits gateway.Limits) http.Handler {
		st := newStore()
		parties := newParties()
		srv, err := gateway.New(gateway.Config{
			AllowTokens: true, Validator: fakeValidator{}, Router: &fakeRouter{parties: parties, store: st}, Store: st, Parties: parties,
			Audit: aud, Limits: limits,
		}, gateway.Endpoint{Method: http.MethodGet, Pattern: "/v1/stuurinfo", Handler: echoPrincipal},
			gateway.Endpoint{Method: http.MethodPost, Pattern: "/v1/samenloop/run", Handler: echoPrincipal},
			gateway.Endpoint{Method: http.MethodGet, Pattern: "/v1/elsewhere", Handler: echoPrincipal},
			gateway.Endpoint{Method: http.MethodPost, Pattern: "/v1/samenloop/wlz-register", Handler: readAll, MaxBodyBytes: 4})
		require.NoError(t, err)
		return srv.Handler()
	}
	call := func(h http.Handler, method, path, token string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w
	}
	rec := &recordingAuditor{}
	h := newServer(rec, gateway.Limits{})

	tests := []struct {
		name, method, path, token string
		status                    int
		body                      string
	}{
		{"operator reads", http.MethodGet, "/v1/stuurinfo", "tok-operator", 200, "hello operator"},
		{"operator runs", http.MethodPost, "/v1/samenloop/run", "tok-operator", 200, "hello operator"},
		{"no credential", http.MethodGet, "/v1/stuurinfo", "", 401, `"unauthenticated"`},
		{"a party without a row", http.MethodGet, "/v1/stuurinfo", "tok-42420001", 403, `"role-forbidden"`},
		{"wrong method", http.MethodDelete, "/v1/stuurinfo", "tok-operator", 405, `"method-not-allowed"`},
		{"a product not mounted", http.MethodGet, "/dashboard", "tok-operator", 404, `"not-found"`},
		{"no row in the role table: nobody", http.MethodGet, "/v1/elsewhere", "tok-operator", 403, `"role-forbidden"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := call(h, tt.method, tt.path, tt.token)
			assert.Equal(t, tt.status, w.Code, w.Body.String())
			assert.Contains(t, w.Body.String(), tt.body)
		})
	}
	require.Len(t, rec.entries, 1, "the read is recorded, the run (no audit action) and the refusals are not")
	assert.Equal(t, audit.Entry{Principal: "operator", Action: audit.StuurinfoQuery, Remote: "192.0.2.1:1234"}, rec.entries[0])
	rec.entries = nil

	for body, status := range map[string]int{"1234": 204, "12345": 413} {
		req := httptest.NewRequest(http.MethodPost, "/v1/samenloop/wlz-register", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer tok-operator")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		assert.Equal(t, status, w.Code, "the endpoint's own body bound: %q", body)
	}

	limited := newServer(nil, gateway.Limits{Rate: 1, Burst: 1})
	assert.Equal(t, 200, call(limited, http.MethodGet, "/v1/stuurinfo", "tok-operator").Code)
	w := call(limited, http.MethodGet, "/v1/stuurinfo", "tok-operator")
	assert.Equal(t, 429, w.Code)
	assert.Contains(t, w.Body.String(), gateway.CodeRateLimited)

	w = call(newServer(&failingAuditor{}, gateway.Limits{}), http.MethodGet, "/v1/stuurinfo", "tok-operator")
	assert.Equal(t, 503, w.Code)
	assert.Contains(t, w.Body.String(), gateway.CodeAuditUnavailable)
	assert.NotContains(t, w.Body.String(), "hello", "no record, no access")
}

func TestEndpointsRefusedByNew(t *testing.T) {
	st := newStore()
	parties := newParties()
	cfg := gateway.Config{AllowTokens: true, Validator: fakeValidator{}, Router: &fakeRouter{parties: parties, store: st}, Store: st, Parties: parties}
	tests := []struct {
		name string
		eps  []gateway.Endpoint
		want string
	}{
		{"no handler", []gateway.Endpoint{{Method: "GET", Pattern: "/x"}}, "no handler"},
		{"no method", []gateway.Endpoint{{Pattern: "/x", Handler: echoPrincipal}}, "required"},
		{"relative pattern", []gateway.Endpoint{{Method: "GET", Pattern: "x", Handler: echoPrincipal}}, "required"},
		{"built-in pattern", []gateway.Endpoint{{Method: "PUT", Pattern: "/v1/mailbox", Handler: echoPrincipal}}, "gateway's own"},
		{"twice", []gateway.Endpoint{{Method: "GET", Pattern: "/x", Handler: echoPrincipal}, {Method: "GET", Pattern: "/x", Handler: echoPrincipal}}, "twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := gateway.New(cfg, tt.eps...)
			require.Error(t, err)
			assert.True(t, strings.Contains(err.Error(), tt.want), err.Error())
		})
	}
	_, ok := gateway.PrincipalFrom(context.Background())
	assert.False(t, ok, "no principal outside an endpoint")
}
