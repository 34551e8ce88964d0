package gateway_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/audit"
	"github.com/knooppunt/knooppunt/gateway"
	"github.com/knooppunt/knooppunt/store"
)

// failingAuditor cannot record anything.
type failingAuditor struct{ memAuditor }

func (failingAuditor) Append(context.Context, audit.Entry) (audit.Entry, error) {
	return audit.Entry{}, errors.New("disk full")
}

// recordingAuditor keeps what was appended.
type recordingAuditor struct {
	memAuditor
	entries []audit.Entry
}

func (r *recordingAuditor) Append(_ context.Context, e audit.Entry) (audit.Entry, error) {
	r.entries = append(r.entries, e)
	return e, nil
}

// TestIngestGuarded: a front door's message passes the role table and
// the audit record as a POST does, and Admit applies the limits.
func TestIngestGuarded(t *testing.T) {
	newServer := func(aud gateway.Auditor) *gateway.Server {
		st := newStore()
		parties := newParties()
		srv, err := gateway.New(gateway.Config{
			AllowTokens: true, Validator: fakeValidator{}, Router: &fakeRouter{parties: parties, store: st}, Store: st, Parties: parties,
			Audit: aud, Limits: gateway.Limits{Rate: 1, Burst: 1},
		})
		require.NoError(t, err)
		return srv
	}
	party := gateway.Principal{ID: "0384", Party: true, Role: gateway.RoleGemeente}
	ctx := context.Background()

	rec := &recordingAuditor{}
	srv := newServer(rec)
	a, err := srv.IngestGuarded(ctx, party, "192.0.2.7:4711", msg("WMO301", "0384", "42420001", "G1"), nil)
	require.NoError(t, err)
	require.Len(t, rec.entries, 1)
	assert.Equal(t, audit.Entry{Principal: "0384", Action: audit.Received, MessageID: a.ID, Remote: "192.0.2.7:4711"}, rec.entries[0])

	release, _, err := srv.Admit(party)
	require.NoError(t, err, "the first of burst 1")
	release()
	_, retry, err := srv.Admit(party)
	assert.Equal(t, gateway.CodeRateLimited, codeOf(err), "burst 1")
	assert.Positive(t, retry)

	for _, p := range []gateway.Principal{
		{ID: "operator", Operator: true, Role: gateway.RoleOperator},
		{ID: "auditor", Operator: true, Role: gateway.RoleAuditor},
		{ID: "nza", Role: gateway.RoleNZa},
	} {
		_, err = srv.IngestGuarded(ctx, p, "", msg("WMO301", "0384", "42420001", "G3"), nil)
		assert.Equal(t, gateway.CodeNotAParty, codeOf(err), p.ID)
	}
	assert.Len(t, rec.entries, 1, "refusals are not recorded")

	_, err = newServer(&failingAuditor{}).IngestGuarded(ctx, party, "", msg("WMO301", "0384", "42420001", "G4"), nil)
	assert.Equal(t, gateway.CodeAuditUnavailable, codeOf(err))
}

func codeOf(err error) string {
	var e *gateway.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// keepingStore keeps the audit record in its commit, as the Pebble store
// does (Receipt.Recorded), and remembers what it was given.
type keepingStore struct {
	*fakeStore
	records []store.Reception
}

func (s *keepingStore) Put(ctx context.Context, m gateway.Message) (gateway.Receipt, error) {
	r, err := s.fakeStore.Put(ctx, m)
	if err == nil && m.Reception != nil {
		s.records = append(s.records, *m.Reception)
		r.Recorded = true
	}
	return r, err
}

// TestRecordGoesWithTheMessage: where the store keeps the record of a
// message received in its own commit, the gateway hands it the reception
// (principal, remote, time; the store adds the message's id) and
// appends none itself, for a POST, a resend and a front door's message;
// the switch's own answer to a heenbericht is recorded by the gateway.
func TestRecordGoesWithTheMessage(t *testing.T) {
	aud := &recordingAuditor{}
	var st *keepingStore
	h := newHarness(t, withAnswerer(), func(c *gateway.Config) {
		c.Audit = aud
		st = &keepingStore{fakeStore: c.Store.(*fakeStore)}
		c.Store = st
	})
	body := msg("WMO301", "0384", "42420001", "K1")
	require.Equal(t, http.StatusAccepted, h.post("tok-0384", body).status)
	require.Equal(t, http.StatusOK, h.post("tok-0384", body).status)
	party := gateway.Principal{ID: "0384", Party: true, Role: gateway.RoleGemeente}
	_, err := h.srv.IngestGuarded(context.Background(), party, "192.0.2.9:1", msg("WMO301", "0384", "42420001", "K2"), nil)
	require.NoError(t, err)
	assert.Empty(t, aud.entries, "the store kept every record")
	require.Len(t, st.records, 3)
	for i, r := range st.records {
		assert.Equal(t, "0384", r.Principal, "record %d", i)
		assert.NotEmpty(t, r.Remote, "record %d", i)
		assert.False(t, r.At.IsZero(), "record %d", i)
	}
	assert.Equal(t, "192.0.2.9:1", st.records[2].Remote)

	answered := h.post("tok-0384", append(msg("WMO301", "0384", "42420001", "K3"), " CS002"...))
	require.Equal(t, http.StatusAccepted, answered.status, string(answered.body))
	require.Len(t, aud.entries, 1, "the answered heenbericht is recorded by the gateway")
	assert.Equal(t, answered.json(t)["id"], aud.entries[0].MessageID)
}

// TestAudited: a handler served on a Door records a successful access
// with the action of its row of the role table before the answer leaves,
// nothing for a refusal, an unauthenticated caller, a row that records
// nothing or a HEAD; with the trail failing the caller gets 503
// audit-unavailable instead of the answer.
func TestAudited(t *testing.T) {
	newServer := func(aud gateway.Auditor) *gateway.Server {
		st := newStore()
		parties := newParties()
		srv, err := gateway.New(gateway.Config{AllowTokens: true, Validator: fakeValidator{},
			Router: &fakeRouter{parties: parties, store: st}, Store: st, Parties: parties, Audit: aud})
		require.NoError(t, err)
		return srv
	}
	products := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Refuse") != "" {
			http.Error(w, `{"code":"forbidden"}`, http.StatusForbidden)
			return
		}
		w.Write([]byte(`[]`))
	})
	serve := func(h http.Handler, method, path, token string, refuse bool) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		if refuse {
			req.Header.Set("X-Refuse", "1")
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w
	}

	rec := &recordingAuditor{}
	h := newServer(rec).Audited(products)
	for _, tt := range []struct {
		method, path, token string
		refuse              bool
		want                audit.Action
	}{
		{http.MethodGet, "/v1/stuurinfo", "tok-0384", false, audit.StuurinfoQuery},
		{http.MethodGet, "/v1/stuurinfo/nza", "tok-operator", false, audit.StuurinfoQuery},
		{http.MethodGet, "/dashboard", "tok-0384", false, audit.StuurinfoQuery},
		{http.MethodPost, "/v1/samenloop/wlz-register", "tok-operator", false, audit.RegisterImport},
		{http.MethodGet, "/v1/stuurinfo", "tok-0384", true, ""},
		{http.MethodGet, "/v1/stuurinfo", "tok-nobody", false, ""},
		{http.MethodPost, "/v1/samenloop/run", "tok-operator", false, ""},
		{http.MethodHead, "/dashboard", "tok-0384", false, ""},
	} {
		rec.entries = nil
		w := serve(h, tt.method, tt.path, tt.token, tt.refuse)
		if tt.want == "" {
			assert.Empty(t, rec.entries, "%s %s", tt.method, tt.path)
			continue
		}
		assert.Equal(t, http.StatusOK, w.Code)
		require.Len(t, rec.entries, 1, "%s %s", tt.method, tt.path)
		assert.Equal(t, tt.want, rec.entries[0].Action)
		assert.Equal(t, tt.token[len("tok-"):], rec.entries[0].Principal, "the entry names who asked")
	}

	w := serve(newServer(&failingAuditor{}).Audited(products), http.MethodGet, "/v1/stuurinfo", "tok-0384", false)
	assert.Equal(t, http.StatusServiceUnavailable, w.Code)
	assert.Contains(t, w.Body.String(), gateway.CodeAuditUnavailable)
	assert.NotContains(t, w.Body.String(), "[]", "no record, no access")

	w = serve(newServer(nil).Audited(products), http.MethodGet, "/v1/stuurinfo", "tok-0384", false)
	assert.Equal(t, http.StatusOK, w.Code, "without a trail the handler answers as it is")
}
