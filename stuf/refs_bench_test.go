package stuf_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/knooppunt/knooppunt/store"
	"github.com/knooppunt/knooppunt/store/pebble"
	"github.com/knooppunt/knooppunt/store/storetest"
	"github.com/knooppunt/knooppunt/stuf"
)

// BenchmarkRefs measures what a received Di01 costs its reference numbers
// (Claim, then the Di01 and its message recorded) — kept in memory and kept durably in the store,
// beside the baseline of the store's Put of the message itself (one synced
// write, as each durable reference write is). 8 senders per core, so the
// store's group commit works as under load.
func BenchmarkRefs(b *testing.B) {
	ctx := context.Background()
	for _, kind := range []string{"put", "memory", "store"} {
		b.Run(kind, func(b *testing.B) {
			st, err := pebble.Open(ctx, pebble.Config{Dir: b.TempDir()})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			var refs stuf.Refs = stuf.NewMemoryRefs(0, nil)
			if kind == "store" {
				refs = stuf.StoreRefs{S: st}
			}
			var n atomic.Int64
			b.SetParallelism(8)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					if kind == "put" {
						if _, err := st.Put(ctx, storetest.Msg("0363", "42420001", "WMO301", fmt.Sprint("ID-", i), "")); err != nil {
							b.Error(err)
							return
						}
						continue
					}
					ref := stuf.NewUUID()
					if _, err := refs.Claim(ctx, "0363", ref, sha256.Sum256([]byte(ref))); err != nil {
						b.Error(err)
						return
					}
					id := store.ID{byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i), 1}
					if err := stuf.RecordDi01(ctx, refs, ref, "42420001", id.String()); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
