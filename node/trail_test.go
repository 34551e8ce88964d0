package node

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/audit"
	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/sample"
	"github.com/knooppunt/knooppunt/store/jetstream/natstest"
	"github.com/knooppunt/knooppunt/store/pebble"
)

// backends are the store backends the trail's tests run on.
var backends = []string{"pebble", "jetstream"}

// onBackend is a dev node's config with its data in dir, on a store of
// backend: Pebble, or JetStream on a server of its own.
func onBackend(t *testing.T, backend, dir string) Config {
	t.Helper()
	cfg := Config{Dev: true, Addr: "127.0.0.1:0", Store: pebble.Config{Dir: filepath.Join(dir, "data")},
		Logger: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)}
	if backend == "jetstream" {
		cfg.StoreURL = natstest.Start(t).ClientURL() + "?replicas=1"
	}
	return cfg
}

// receivedIn reads the trail's received entries: the few a node test
// makes fit one page.
func receivedIn(t *testing.T, trail *audit.Log) []audit.Entry {
	t.Helper()
	page, more, err := trail.Query(context.Background(), audit.Filter{Action: audit.Received, Limit: audit.MaxQueryLimit})
	require.NoError(t, err)
	require.False(t, more, "more received entries than a node test makes")
	return page
}

// TestNodeRecordsThroughTheFeed: on a dev node, a message's record goes
// through the store, in the message's own commit (Pebble: its feed;
// JetStream: the node's log in the stream), and no entry is appended
// before the answer; an auditor's query sees it at once, a resend has its
// own record, and a restart leaves every record in the trail once.
func TestNodeRecordsThroughTheFeed(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			dir := t.TempDir()
			cfg := onBackend(t, backend, dir)
			n, err := Start(context.Background(), cfg)
			require.NoError(t, err)
			require.NotNil(t, n.trail, "a store with a trail keeps the receptions")
			s, _ := bericht.Lookup("WMO301")
			m, err := sample.New(8).Heen(s, sample.Options{Afzender: "0384", Ontvanger: "42420001"})
			require.NoError(t, err)
			code, body := call(t, http.MethodPost, n.URL()+"/v1/berichten", "dev-0384", "application/xml", string(m.XML))
			require.Equal(t, http.StatusAccepted, code, string(body))
			var a struct{ ID string }
			require.NoError(t, json.Unmarshal(body, &a))
			code, _ = call(t, http.MethodPost, n.URL()+"/v1/berichten", "dev-0384", "application/xml", string(m.XML))
			require.Equal(t, http.StatusOK, code, "a resend")

			code, body = call(t, http.MethodGet, n.URL()+"/v1/audit?action=received", "dev-auditor", "", "")
			require.Equal(t, http.StatusOK, code, string(body))
			var page struct{ Entries []audit.Entry }
			require.NoError(t, json.Unmarshal(body, &page))
			require.Len(t, page.Entries, 2, "both posts, seen by the auditor at once")
			for _, e := range page.Entries {
				assert.Equal(t, a.ID, e.MessageID)
				assert.Equal(t, "0384", e.Principal)
			}
			require.NoError(t, n.Shutdown(context.Background()))

			n, err = Start(context.Background(), cfg)
			require.NoError(t, err)
			defer n.Close()
			assert.Len(t, receivedIn(t, n.Audit()), 2, "no record twice after a restart")
		})
	}
}

// TestReceptionsLeftByACrashReachTheTrail: a reception the store kept but
// the trail did not get (the node died between the two) is written into
// the trail at the next start, once; on JetStream the log of one node is
// not another's.
func TestReceptionsLeftByACrashReachTheTrail(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			dir := t.TempDir()
			cfg := onBackend(t, backend, dir)
			n, err := Start(context.Background(), cfg)
			require.NoError(t, err)
			n.stopTrail() // as if the node died before its follower's next step
			s, _ := bericht.Lookup("WMO301")
			var ids []string
			for i := range 3 {
				m, err := sample.New(int64(20+i)).Heen(s, sample.Options{Afzender: "0384", Ontvanger: "42420001"})
				require.NoError(t, err)
				code, body := call(t, http.MethodPost, n.URL()+"/v1/berichten", "dev-0384", "application/xml", string(m.XML))
				require.Equal(t, http.StatusAccepted, code, string(body))
				var a struct{ ID string }
				require.NoError(t, json.Unmarshal(body, &a))
				ids = append(ids, a.ID)
			}
			assert.Empty(t, receivedIn(t, n.Audit()), "nothing written while the follower is stopped")
			require.NoError(t, n.Close())

			if backend == "jetstream" {
				other := cfg
				other.Store.Dir = filepath.Join(dir, "other")
				o, err := Start(context.Background(), other)
				require.NoError(t, err)
				require.NoError(t, o.FlushAudit(context.Background()))
				assert.Empty(t, receivedIn(t, o.Audit()), "another node on the same stream records its own receptions only")
				require.NoError(t, o.Close())
			}

			n, err = Start(context.Background(), cfg)
			require.NoError(t, err)
			defer n.Close()
			var got []string
			for _, e := range receivedIn(t, n.Audit()) {
				got = append(got, e.MessageID)
			}
			assert.ElementsMatch(t, ids, got, "each reception written at the next start, once")
		})
	}
}

// TestTrailBehindItsStoreStopsTheStart: the store keeps the trail's head
// with each step of its follower, so a start whose trail was deleted, cut off or
// replaced by another chain stops with a clear error instead of beginning
// a new chain; the trail put back lets it start.
func TestTrailBehindItsStoreStopsTheStart(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			root := t.TempDir()
			storeURL := ""
			if backend == "jetstream" {
				storeURL = natstest.Start(t).ClientURL() + "?replicas=1"
			}
			wmo301, _ := bericht.Lookup("WMO301")
			start := func(data string) (*Node, error) {
				return Start(context.Background(), Config{Dev: true, Addr: "127.0.0.1:0", Store: pebble.Config{Dir: data}, StoreURL: storeURL,
					Logger: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.ErrorLevel)})
			}
			post := func(n *Node, count int, prefix string) {
				for i := range count {
					m, err := sample.New(int64(i)).Heen(wmo301, sample.Options{Afzender: "0384", Ontvanger: "42420001", Identificatie: fmt.Sprint(prefix, i)})
					require.NoError(t, err)
					code, body := call(t, "POST", n.URL()+"/v1/berichten", "dev-0384", "application/xml", string(m.XML))
					require.Equal(t, http.StatusAccepted, code, string(body))
				}
			}
			ours, other := filepath.Join(root, "ours"), filepath.Join(root, "other")
			n, err := start(ours)
			require.NoError(t, err)
			post(n, 2, "A")
			require.NoError(t, n.Shutdown(context.Background()))
			n, err = start(other)
			require.NoError(t, err)
			post(n, 6, "B")
			require.NoError(t, n.Shutdown(context.Background()))

			trail := filepath.Join(ours+".audit", audit.FileName)
			kept, err := os.ReadFile(trail)
			require.NoError(t, err)
			require.NoError(t, os.Remove(trail))
			_, err = start(ours)
			require.ErrorContains(t, err, "the trail was cut off, deleted or replaced", "a deleted trail")

			foreign, err := os.ReadFile(filepath.Join(other+".audit", audit.FileName))
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(trail, foreign, 0o600))
			_, err = start(ours)
			require.ErrorContains(t, err, "the trail was replaced", "another switch's longer trail")

			require.NoError(t, os.WriteFile(trail, kept, 0o600))
			n, err = start(ours)
			require.NoError(t, err, "its own trail put back")
			require.NoError(t, n.Close())
		})
	}
}

// TestBatchRecordsEachMessage: a batch of three messages, one of them
// refused, leaves a received record per stored message with its id, kept
// by the store in the message's commit, and none for the refused one or
// for the batch as a whole, on both backends.
func TestBatchRecordsEachMessage(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			dir := t.TempDir()
			cfg := onBackend(t, backend, dir)
			n, err := Start(context.Background(), cfg)
			require.NoError(t, err)
			defer n.Close()
			s, _ := bericht.Lookup("WMO301")
			g := sample.New(9)
			var files [][]byte
			for range 2 {
				m, err := g.Heen(s, sample.Options{Afzender: "0384", Ontvanger: "42420001"})
				require.NoError(t, err)
				files = append(files, m.XML)
			}
			files = append(files, []byte("<not-a-message/>"))
			code, body := call(t, http.MethodPost, n.URL()+"/v1/berichten/batch", "dev-0384", "application/zip", string(zipped(t, files...)))
			require.Equal(t, http.StatusOK, code, string(body))
			var res struct{ Results []struct{ ID, Result string } }
			require.NoError(t, json.Unmarshal(body, &res))
			var stored []string
			for _, r := range res.Results {
				if r.Result == "stored" {
					stored = append(stored, r.ID)
				}
			}
			require.Len(t, stored, 2, string(body))

			require.NoError(t, n.FlushAudit(context.Background()))
			var got []string
			for _, e := range receivedIn(t, n.Audit()) {
				assert.Empty(t, e.Detail, "no record for the batch as a whole")
				got = append(got, e.MessageID)
			}
			assert.ElementsMatch(t, stored, got, "one record per stored message, with its id")
		})
	}
}

// zipped is a ZIP archive of files, named 1.xml, 2.xml, ….
func zipped(t *testing.T, files ...[]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i, f := range files {
		w, err := zw.Create(fmt.Sprint(i+1, ".xml"))
		require.NoError(t, err)
		_, err = w.Write(f)
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	return buf.Bytes()
}
