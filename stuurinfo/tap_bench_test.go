package stuurinfo

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/sample"
	"github.com/knooppunt/knooppunt/store"
	"github.com/knooppunt/knooppunt/xsd"
)

// BenchmarkPut measures the ingest path's store call without the tap
// (store), with it feeding the aggregates (tap), and with a tap without
// observers (tap-noop): the tap's own cost is a body copy and an append
// under a mutex; the observers run on its goroutine in batches. All run on
// a fresh Pebble store with synced commits, 16 callers per CPU.
func BenchmarkPut(b *testing.B) {
	m, err := sample.New(1).Heen(soort(b, "WMO301"), sample.Options{})
	require.NoError(b, err)
	for _, variant := range []string{"store", "tap", "tap-noop"} {
		name := variant
		tapped := variant != "store"
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			st, err := store.Open(ctx, store.Config{Dir: b.TempDir()})
			require.NoError(b, err)
			var s store.Store = st
			var tap *Tap
			if tapped {
				a := NewAggregates(nil)
				obs := []Observer{ObserverFunc(a.Record)}
				if variant == "tap-noop" {
					obs = nil
				}
				tap = NewTap(st, TapConfig{Observers: obs})
				s = tap
			}
			var seq atomic.Int64
			b.SetParallelism(16)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					msg := &store.Message{Soort: "WMO301", Sender: m.Header.Sender(), Recipient: m.Header.Recipient(),
						Identificatie: strconv.FormatInt(seq.Add(1), 10), Body: m.XML}
					if _, err := s.Put(ctx, msg); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			if tap != nil {
				require.NoError(b, tap.Close())
				require.Zero(b, tap.Dropped())
			}
			require.NoError(b, st.Close())
		})
	}
}

// BenchmarkRecord is the tap's consumer cost per message: reading the facts
// of a 301, from its body or from its validation tree, and adding it to
// the rows.
func BenchmarkRecord(b *testing.B) {
	m, err := sample.New(1).Heen(soort(b, "WMO301"), sample.Options{})
	require.NoError(b, err)
	set, err := xsd.Load(xsd.Config{})
	require.NoError(b, err)
	b.Cleanup(func() { _ = set.Close() })
	_, tree, err := set.ValidateTree(m.XML)
	require.NoError(b, err)
	for _, from := range []struct {
		name string
		o    Observation
	}{{"body", Observation{Body: m.XML}}, {"tree", Observation{Tree: tree}}} {
		b.Run(from.name, func(b *testing.B) {
			a := NewAggregates(nil)
			o := from.o
			o.Soort, o.Sender, o.Recipient = "WMO301", m.Header.Sender(), m.Header.Recipient()
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				o.Received = time.Date(2026, 3, 2, 0, 0, i%86400, 0, time.UTC)
				a.Record(&o)
			}
		})
	}
}
