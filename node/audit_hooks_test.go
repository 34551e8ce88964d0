package node

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/audit"
	"github.com/knooppunt/knooppunt/store"
	"github.com/knooppunt/knooppunt/store/pebble"
)

type fakePutter struct{ err error }

func (f fakePutter) Put(context.Context, *store.Message) (store.Receipt, error) {
	return store.Receipt{ID: store.ID{1, 2, 3}}, f.err
}

// TestAuditHooks: the products' handler, wrapped as the node serves it on
// their own listener (gateway.Server.Audited), records stuurinformatie queries,
// dashboard views and register imports that succeed (and nothing for a
// refusal or a run), and the samenloop engine's store records every signal
// stored; with the trail closed the products answer 503 audit-unavailable
// instead of the data.
func TestAuditHooks(t *testing.T) {
	n, err := Start(context.Background(), Config{Dev: true, Addr: "127.0.0.1:0",
		Store:  pebble.Config{Dir: filepath.Join(t.TempDir(), "data")},
		Logger: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)})
	require.NoError(t, err)
	defer n.Close()

	products := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Refuse") != "" {
			http.Error(w, `{"code":"forbidden"}`, http.StatusForbidden)
			return
		}
		w.Write([]byte(`[]`))
	})
	h := n.srv.Audited(products)
	serve := func(method, path, token string, refuse bool) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		if refuse {
			req.Header.Set("X-Refuse", "1")
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w
	}
	count := func(a audit.Action) int {
		es, _, err := n.Audit().Query(context.Background(), audit.Filter{Action: a})
		require.NoError(t, err)
		return len(es)
	}

	tests := []struct {
		method, path, token string
		refuse              bool
		action              audit.Action
		recorded            int
	}{
		{"GET", "/v1/stuurinfo", "dev-0363", false, audit.StuurinfoQuery, 1},
		{"GET", "/v1/stuurinfo/nza", "dev-nza", false, audit.StuurinfoQuery, 1},
		{"GET", "/dashboard", "dev-operator", false, audit.StuurinfoQuery, 1},
		{"GET", "/v1/stuurinfo", "dev-nza", true, audit.StuurinfoQuery, 0},
		{"POST", "/v1/samenloop/wlz-register", "dev-operator", false, audit.RegisterImport, 1},
		{"POST", "/v1/samenloop/run", "dev-operator", false, audit.RegisterImport, 0},
	}
	for _, tt := range tests {
		before := count(tt.action)
		w := serve(tt.method, tt.path, tt.token, tt.refuse)
		assert.Equal(t, tt.recorded, count(tt.action)-before, "%s %s", tt.method, tt.path)
		if !tt.refuse {
			assert.Equal(t, http.StatusOK, w.Code)
		}
	}
	es, _, err := n.Audit().Query(context.Background(), audit.Filter{Principal: "nza", Action: audit.StuurinfoQuery})
	require.NoError(t, err)
	assert.Len(t, es, 1, "the entry names who asked")

	p := n.auditSignals(fakePutter{})
	r, err := p.Put(context.Background(), &store.Message{})
	require.NoError(t, err)
	es, _, err = n.Audit().Query(context.Background(), audit.Filter{Action: audit.SignalProduced, MessageID: r.ID.String()})
	require.NoError(t, err)
	assert.Len(t, es, 1)
	_, err = n.auditSignals(fakePutter{err: errors.New("disk full")}).Put(context.Background(), &store.Message{})
	require.Error(t, err)
	assert.Equal(t, 1, count(audit.SignalProduced), "a signal not stored is not recorded")

	// No record, no access.
	require.NoError(t, n.Audit().Close())
	w := serve("GET", "/v1/stuurinfo", "dev-0363", false)
	assert.Equal(t, http.StatusServiceUnavailable, w.Code)
	assert.Contains(t, w.Body.String(), "audit-unavailable")
	assert.NotContains(t, w.Body.String(), "[]")
	_, err = p.Put(context.Background(), &store.Message{})
	assert.ErrorIs(t, err, audit.ErrClosed)
}

// TestKeyRotationRecorded: a reload that finds a new active key records
// keys-rotated (with the key id, never the key); one that finds the same
// key records only the configuration change.
func TestKeyRotationRecorded(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "knooppunt.keys")
	_, err := store.AddKey(keyFile, time.Now())
	require.NoError(t, err)
	n, err := Start(context.Background(), Config{Dev: true, Addr: "127.0.0.1:0",
		Store:    pebble.Config{Dir: filepath.Join(dir, "data")},
		Security: SecurityConfig{KeyFile: keyFile},
		Logger:   zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)})
	require.NoError(t, err)
	defer n.Close()
	rotations := func() []audit.Entry {
		es, _, err := n.Audit().Query(context.Background(), audit.Filter{Action: audit.KeysRotated})
		require.NoError(t, err)
		return es
	}
	require.NoError(t, n.reloadSecurity("test"))
	assert.Empty(t, rotations(), "same key")
	id, err := store.AddKey(keyFile, time.Now())
	require.NoError(t, err)
	require.NoError(t, n.reloadSecurity("test"))
	es := rotations()
	require.Len(t, es, 1)
	assert.Equal(t, "active key "+id, es[0].Detail)
	changes, _, err := n.Audit().Query(context.Background(), audit.Filter{Action: audit.ConfigChanged})
	require.NoError(t, err)
	assert.Len(t, changes, 2)
}
