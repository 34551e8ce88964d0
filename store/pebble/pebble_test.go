package pebble_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	lsm "github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/knooppunt/knooppunt/store"
	"github.com/knooppunt/knooppunt/store/pebble"
	"github.com/knooppunt/knooppunt/store/storetest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func openMem(t *testing.T, o storetest.Options) store.Store {
	t.Helper()
	s, err := pebble.Open(context.Background(), pebble.Config{
		Dir: "db", FS: vfs.NewMem(), Now: o.Now, Policy: o.Policy,
	})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

func TestContract(t *testing.T) {
	storetest.Run(t, openMem)
}

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func memConfig(fs vfs.FS, clock *storetest.Clock) pebble.Config {
	return pebble.Config{Dir: "db", FS: fs, Now: clock.Now, Policy: store.Policy{VisibilityTimeout: time.Minute, MaxDeliveries: 2}}
}

func TestReopenKeepsState(t *testing.T) {
	ctx := context.Background()
	fs := vfs.NewMem()
	clock := storetest.NewClock(t0)
	s, err := pebble.Open(ctx, memConfig(fs, clock))
	require.NoError(t, err)
	var ids []store.ID
	for i := range 6 {
		r, err := s.Put(ctx, storetest.Msg("12345678", "0363", "WMO315", fmt.Sprint("ID-", i), ""))
		require.NoError(t, err)
		ids = append(ids, r.ID)
	}
	l, err := s.List(ctx, "0363", 3)
	require.NoError(t, err)
	require.Len(t, l, 3)
	require.NoError(t, s.Ack(ctx, "0363", ids[0]))
	require.NoError(t, s.Ack(ctx, "0363", ids[4]))
	before := s.Stats()
	require.NoError(t, s.Close())

	// The clock went back an hour: ids must still increase.
	clock.Advance(-time.Hour)
	s, err = pebble.Open(ctx, memConfig(fs, clock))
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, s.Check(ctx))
	after := s.Stats()
	assert.Equal(t, before.Pending, after.Pending)
	assert.Equal(t, int64(4), after.Pending)

	l, err = s.List(ctx, "0363", 10)
	require.NoError(t, err)
	assert.Equal(t, []store.ID{ids[3], ids[5]}, entryIDs(l), "leases survive a restart")
	r, err := s.Put(ctx, storetest.Msg("12345678", "0363", "WMO315", "NEW", ""))
	require.NoError(t, err)
	assert.Positive(t, bytes.Compare(r.ID[:], ids[5][:]), "ids increase across restarts")

	clock.Advance(time.Hour + 2*time.Minute)
	l, err = s.List(ctx, "0363", 10)
	require.NoError(t, err)
	assert.Equal(t, []store.ID{ids[1], ids[2], ids[3], ids[5], r.ID}, entryIDs(l), "expired leases are visible again after restart")
	require.NoError(t, s.Check(ctx))
}

func entryIDs(es []store.Entry) []store.ID {
	out := make([]store.ID, len(es))
	for i, e := range es {
		out[i] = e.ID
	}
	return out
}

func TestOpenRefusesForeignDirectory(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name  string
		setup func(t *testing.T, fs vfs.FS)
		want  error
	}{
		{"unrelated files", func(t *testing.T, fs vfs.FS) {
			require.NoError(t, fs.MkdirAll("db", 0o755))
			f, err := fs.Create("db/notes.txt", vfs.WriteCategoryUnspecified)
			require.NoError(t, err)
			_, err = f.Write([]byte("keep me"))
			require.NoError(t, err)
			require.NoError(t, f.Close())
		}, store.ErrForeignDir},
		{"another pebble database", func(t *testing.T, fs vfs.FS) {
			db, err := lsm.Open("db", &lsm.Options{FS: fs, FormatMajorVersion: lsm.FormatNewest, Logger: quietLogger{}})
			require.NoError(t, err)
			require.NoError(t, db.Set([]byte("their-key"), []byte("their-value"), lsm.Sync))
			require.NoError(t, db.Close())
		}, store.ErrForeignDir},
		{"corrupt manifest", func(t *testing.T, fs vfs.FS) {
			s, err := pebble.Open(ctx, pebble.Config{Dir: "db", FS: fs})
			require.NoError(t, err)
			require.NoError(t, s.Close())
			names, err := fs.List("db")
			require.NoError(t, err)
			for _, n := range names {
				if strings.HasPrefix(n, "MANIFEST-") {
					f, err := fs.Create("db/"+n, vfs.WriteCategoryUnspecified)
					require.NoError(t, err)
					_, err = f.Write(bytes.Repeat([]byte{0xde, 0xad}, 100))
					require.NoError(t, err)
					require.NoError(t, f.Close())
				}
			}
		}, store.ErrCorrupt},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fs := vfs.NewMem()
			tc.setup(t, fs)
			before := snapshotDir(t, fs, "db")
			_, err := pebble.Open(ctx, pebble.Config{Dir: "db", FS: fs})
			require.Error(t, err)
			assert.ErrorIs(t, err, tc.want)
			t.Log(err)
			assert.Equal(t, before, snapshotDir(t, fs, "db"), "the directory is left untouched")
		})
	}
}

// snapshotDir returns the names and contents of the files in dir.
func snapshotDir(t *testing.T, fs vfs.FS, dir string) map[string]string {
	t.Helper()
	names, err := fs.List(dir)
	require.NoError(t, err)
	out := map[string]string{}
	for _, n := range names {
		f, err := fs.Open(fs.PathJoin(dir, n))
		require.NoError(t, err)
		b, err := io.ReadAll(f)
		require.NoError(t, err)
		require.NoError(t, f.Close())
		out[n] = string(b)
	}
	return out
}

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		name string
		cfg  pebble.Config
		ok   bool
	}{
		{"minimal", pebble.Config{Dir: "db"}, true},
		{"no dir", pebble.Config{}, false},
		{"negative timeout", pebble.Config{Dir: "db", Policy: store.Policy{VisibilityTimeout: -time.Second}}, false},
		{"payload outlives metadata", pebble.Config{Dir: "db", Policy: store.Policy{PayloadRetention: 48 * time.Hour, MetadataRetention: time.Hour}}, false},
		{"too many deliveries", pebble.Config{Dir: "db", Policy: store.Policy{MaxDeliveries: 100000}}, false},
		{"negative cache", pebble.Config{Dir: "db", CacheSize: -1}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.FS = vfs.NewMem()
			s, err := pebble.Open(context.Background(), cfg)
			if tc.ok {
				require.NoError(t, err)
				require.NoError(t, s.Close())
				return
			}
			assert.ErrorIs(t, err, store.ErrInvalid)
		})
	}
}

func TestCloseFailsPendingPutsCleanly(t *testing.T) {
	ctx := context.Background()
	fs := vfs.NewMem()
	clock := storetest.NewClock(t0)
	s, err := pebble.Open(ctx, memConfig(fs, clock))
	require.NoError(t, err)
	var mu sync.Mutex
	stored := map[string]store.ID{}
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			for i := 0; ; i++ {
				ident := fmt.Sprintf("W%d-%d", w, i)
				r, err := s.Put(ctx, storetest.Msg("12345678", "0363", "WMO315", ident, ""))
				if err != nil {
					assert.ErrorIs(t, err, store.ErrClosed)
					return
				}
				mu.Lock()
				stored[ident] = r.ID
				mu.Unlock()
			}
		})
	}
	for s.Stats().Puts < 200 {
		runtime.Gosched()
	}
	require.NoError(t, s.Close())
	wg.Wait()

	s, err = pebble.Open(ctx, memConfig(fs, clock))
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, s.Check(ctx))
	for ident, id := range stored {
		m, err := s.Lookup(ctx, store.Key{Sender: "12345678", Soort: "WMO315", Identificatie: ident})
		require.NoError(t, err, "a Put that returned must survive Close")
		assert.Equal(t, id, m.ID)
	}
	assert.Equal(t, int64(len(stored)), s.Stats().Pending)
}

func TestJanitorTruncatesMailboxes(t *testing.T) {
	ctx := context.Background()
	clock := storetest.NewClock(t0)
	s, err := pebble.Open(ctx, memConfig(vfs.NewMem(), clock))
	require.NoError(t, err)
	defer s.Close()
	var ids []store.ID
	for i := range 50 {
		r, err := s.Put(ctx, storetest.Msg("12345678", "0363", "WMO315", fmt.Sprint("ID-", i), ""))
		require.NoError(t, err)
		ids = append(ids, r.ID)
	}
	// Quarantine the first message, confirm the rest out of order.
	for range 2 {
		l, err := s.List(ctx, "0363", 1)
		require.NoError(t, err)
		require.Equal(t, ids[0], l[0].ID)
		clock.Advance(2 * time.Minute)
	}
	l, err := s.List(ctx, "0363", 250)
	require.NoError(t, err)
	require.Len(t, l, 49, "the first message is quarantined")
	for i := len(ids) - 1; i >= 1; i-- {
		require.NoError(t, s.Ack(ctx, "0363", ids[i]))
	}
	require.NoError(t, s.RunJanitor(ctx))
	require.NoError(t, s.Check(ctx))

	// Releasing a message below the head lowers the head again.
	require.NoError(t, s.Release(ctx, ids[0]))
	require.NoError(t, s.RunJanitor(ctx))
	l, err = s.List(ctx, "0363", 250)
	require.NoError(t, err)
	assert.Equal(t, []store.ID{ids[0]}, entryIDs(l))
	r, err := s.Put(ctx, storetest.Msg("12345678", "0363", "WMO315", "LATE", ""))
	require.NoError(t, err)
	clock.Advance(2 * time.Minute)
	l, err = s.List(ctx, "0363", 250)
	require.NoError(t, err)
	assert.Equal(t, []store.ID{ids[0], r.ID}, entryIDs(l))
	require.NoError(t, s.Check(ctx))
}

// quietLogger discards Pebble's log lines in tests that open Pebble
// directly.
type quietLogger struct{}

func (quietLogger) Infof(string, ...any)           {}
func (quietLogger) Errorf(string, ...any)          {}
func (l quietLogger) Fatalf(f string, args ...any) { panic(fmt.Sprintf(f, args...)) }

// TestListPastManyLeases: more leased messages at the front of a mailbox
// than one List scans must not hide the visible ones behind them.
func TestListPastManyLeases(t *testing.T) {
	if testing.Short() {
		t.Skip("puts 12,000 messages")
	}
	ctx := context.Background()
	clock := storetest.NewClock(t0)
	s, err := pebble.Open(ctx, memConfig(vfs.NewMem(), clock))
	require.NoError(t, err)
	defer s.Close()
	const n = 12000
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			for i := w; i < n; i += 16 {
				_, err := s.Put(ctx, storetest.Msg("12345678", "0363", "WMO315", fmt.Sprint("ID-", i), ""))
				assert.NoError(t, err)
			}
		})
	}
	wg.Wait()
	seen := 0
	for {
		l, err := s.List(ctx, "0363", store.MaxListLimit)
		require.NoError(t, err)
		if len(l) == 0 {
			break
		}
		seen += len(l)
	}
	assert.Equal(t, n, seen)
}

func TestMetricsOnInjectedRegistry(t *testing.T) {
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	cfg := memConfig(vfs.NewMem(), storetest.NewClock(t0))
	cfg.Registerer = reg
	s, err := pebble.Open(ctx, cfg)
	require.NoError(t, err)
	for i := range 3 {
		_, err := s.Put(ctx, storetest.Msg("12345678", "0363", "WMO315", fmt.Sprint("ID-", i), ""))
		require.NoError(t, err)
	}
	_, err = s.Put(ctx, storetest.Msg("12345678", "0363", "WMO315", "ID-0", ""))
	require.NoError(t, err)

	families, err := reg.Gather()
	require.NoError(t, err)
	ops := map[string]float64{}
	pending := -1.0
	for _, f := range families {
		if f.GetName() == "knooppunt_store_pending_messages" {
			pending = f.GetMetric()[0].GetGauge().GetValue()
		}
		if f.GetName() == "knooppunt_store_operations_total" {
			for _, m := range f.GetMetric() {
				ops[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
			}
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				assert.NotEqual(t, "0363", l.GetValue(), "no party codes in labels")
			}
		}
	}
	assert.Equal(t, 3.0, pending)
	assert.Equal(t, 3.0, ops["put"])
	assert.Equal(t, 1.0, ops["duplicate"])

	require.NoError(t, s.Close())
	families, err = reg.Gather()
	require.NoError(t, err)
	assert.Empty(t, families, "Close unregisters the collectors")
}
