package delivery_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/audit"
	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/delivery"
	"github.com/knooppunt/knooppunt/sample"
	"github.com/knooppunt/knooppunt/store"
	"github.com/knooppunt/knooppunt/store/pebble"
)

// acking is a Mailbox that notes which messages were confirmed.
type acking struct {
	*pebble.Store
	mu    sync.Mutex
	acked map[store.ID]bool
}

func (a *acking) Ack(ctx context.Context, party string, id store.ID) error {
	if err := a.Store.Ack(ctx, party, id); err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.acked[id] = true
	return nil
}

func (a *acking) isAcked(id string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for k := range a.acked {
		if k.String() == id {
			return true
		}
	}
	return false
}

// recorder is an audit.Recorder that fails while failing is set and notes
// whether each message was still unconfirmed when it was recorded.
type recorder struct {
	box     *acking
	failing atomic.Bool
	mu      sync.Mutex
	entries []audit.Entry
	late    []string // recorded after its ack
	refused int
}

func (r *recorder) Append(_ context.Context, e audit.Entry) (audit.Entry, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failing.Load() {
		r.refused++
		return audit.Entry{}, errors.New("disk full")
	}
	if r.box.isAcked(e.MessageID) {
		r.late = append(r.late, e.MessageID)
	}
	r.entries = append(r.entries, e)
	return e, nil
}

func (r *recorder) snapshot() (entries []audit.Entry, late []string, refused int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]audit.Entry(nil), r.entries...), append([]string(nil), r.late...), r.refused
}

// putIDs stores n messages for the aanbieder and returns their ids.
func putIDs(t *testing.T, st store.Store, n int) []string {
	t.Helper()
	s, ok := bericht.Lookup("JW301")
	require.True(t, ok)
	g := sample.New(11)
	var ids []string
	for range n {
		m, err := g.Heen(s, sample.Options{Afzender: gemeente, Ontvanger: aanbieder})
		require.NoError(t, err)
		rc, err := st.Put(context.Background(), &store.Message{
			Soort: "JW301", Sender: gemeente, Recipient: aanbieder, Identificatie: m.Header.Identificatie, Body: m.XML,
		})
		require.NoError(t, err)
		ids = append(ids, rc.ID.String())
	}
	return ids
}

// TestPushAudited: every pushed message is recorded once, as fetched by
// its recipient, before it is confirmed; while the record cannot be
// written nothing is confirmed, and the pushes are repeated until it can.
func TestPushAudited(t *testing.T) {
	for _, c := range []struct {
		name        string
		failAtFirst bool
	}{
		{"recorded", false},
		{"recorder down, then back", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			st := openStore(t, t.TempDir())
			defer st.Close()
			ids := putIDs(t, st, 3)
			var pushes atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				pushes.Add(1)
				w.WriteHeader(http.StatusNoContent)
			}))
			defer srv.Close()
			box := &acking{Store: st, acked: map[store.ID]bool{}}
			rec := &recorder{box: box}
			rec.failing.Store(c.failAtFirst)
			cfg := fast(box, newRegistry(delivery.Endpoint{Party: aanbieder, URL: srv.URL, Kind: delivery.KindREST}))
			cfg.Audit = rec
			p, err := delivery.New(cfg)
			require.NoError(t, err)
			stop := run(t, p)
			if c.failAtFirst {
				// Twice as many refused records as messages: the pushes
				// were left unconfirmed and came back after their lease.
				require.Eventually(t, func() bool {
					_, _, refused := rec.snapshot()
					return refused >= 6
				}, 10*time.Second, 5*time.Millisecond)
				box.mu.Lock()
				assert.Empty(t, box.acked, "nothing confirmed while the audit trail refuses")
				box.mu.Unlock()
				assert.Equal(t, int64(3), st.Stats().Pending)
				assert.GreaterOrEqual(t, pushes.Load(), int32(6), "every refused record followed a push")
				rec.failing.Store(false)
			}
			require.Eventually(t, func() bool { return st.Stats().Pending == 0 }, 10*time.Second, 5*time.Millisecond)
			stop()
			entries, late, _ := rec.snapshot()
			assert.Empty(t, late, "recorded before the ack")
			got := make([]string, 0, len(entries))
			for _, e := range entries {
				assert.Equal(t, aanbieder, e.Principal)
				assert.Equal(t, audit.Fetched, e.Action)
				got = append(got, e.MessageID)
			}
			assert.ElementsMatch(t, ids, got, "one record per delivered message")
		})
	}
}
