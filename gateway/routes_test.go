package gateway_test

import (
	"context"
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
			gateway.Endpoint{Method: http.MethodPost, Pattern: "/v1/samenloop/run", Handler: echoPrincipal})
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
