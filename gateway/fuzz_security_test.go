package gateway_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/knooppunt/knooppunt/audit"
	"github.com/knooppunt/knooppunt/gateway"
)

// auditorParties adds an auditor ("tok-auditor") to the fake registry.
type auditorParties struct{ *fakeParties }

func (a auditorParties) ByToken(t string) (gateway.Principal, bool) {
	if t == "tok-auditor" {
		return gateway.Principal{ID: "auditor", Operator: true, Role: gateway.RoleAuditor}, true
	}
	return a.fakeParties.ByToken(t)
}

// memAuditor is an in-memory trail: Query answers up to the filter's
// limit of made-up entries, Append counts.
type memAuditor struct{ appended int }

func (m *memAuditor) Append(_ context.Context, e audit.Entry) (audit.Entry, error) {
	m.appended++
	return e, nil
}

func (m *memAuditor) AppendAll(_ context.Context, entries []audit.Entry) error {
	m.appended += len(entries)
	return nil
}

func (m *memAuditor) Query(_ context.Context, f audit.Filter) ([]audit.Entry, bool, error) {
	n := min(max(f.Limit, 1), 5)
	out := make([]audit.Entry, n)
	for i := range out {
		out[i] = audit.Entry{Seq: f.After + uint64(i) + 1, Principal: "p", Action: audit.Fetched}
	}
	return out, true, nil
}

// FuzzAuditQuery sends arbitrary query strings to GET /v1/audit as an
// auditor: the answer is a page (200) or 400 bad-request, never anything
// else, and a page never exceeds the limit asked for.
func FuzzAuditQuery(f *testing.F) {
	f.Add("from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z&principal=0384&action=fetched&message_id=01J&after=3&limit=10")
	f.Add("limit=0")
	f.Add("limit=1001&after=-1")
	f.Add("from=yesterday")
	f.Add("after=18446744073709551616")
	f.Add("%zz&limit=%31")
	st := newStore()
	parties := auditorParties{newParties()}
	aud := &memAuditor{}
	srv, err := gateway.New(gateway.Config{
		AllowTokens: true, Validator: fakeValidator{}, Router: &fakeRouter{parties: parties.fakeParties, store: st}, Store: st, Parties: parties,
		Audit: aud, Limits: gateway.Limits{Rate: -1, Concurrent: -1},
	})
	if err != nil {
		f.Fatal(err)
	}
	h := srv.Handler()
	f.Fuzz(func(t *testing.T, query string) {
		req, err := http.NewRequest(http.MethodGet, "http://knooppunt/v1/audit", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.URL.RawQuery = query
		req.Header.Set("Authorization", "Bearer tok-auditor")
		w := httptest.NewRecorder()
		before := aud.appended
		h.ServeHTTP(w, req)
		switch w.Code {
		case http.StatusOK:
			var page gateway.AuditPage
			if err := json.Unmarshal(w.Body.Bytes(), &page); err != nil {
				t.Fatalf("%q: 200 without a page: %v", query, err)
			}
			limit := 100
			if v := req.URL.Query().Get("limit"); v != "" {
				limit, _ = strconv.Atoi(v)
			}
			if len(page.Entries) > limit {
				t.Fatalf("%q: %d entries above the limit %d", query, len(page.Entries), limit)
			}
			if aud.appended != before+1 {
				t.Fatalf("%q: a page was served without an audit record", query)
			}
		case http.StatusBadRequest:
			var e struct{ Code string }
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Code != gateway.CodeBadRequest {
				t.Fatalf("%q: 400 without bad-request: %s", query, w.Body)
			}
			if aud.appended != before {
				t.Fatalf("%q: a refusal was recorded as an access", query)
			}
		default:
			t.Fatalf("%q: status %d: %s", query, w.Code, w.Body)
		}
	})
}
