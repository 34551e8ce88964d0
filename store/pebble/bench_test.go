package pebble

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/store"
)

// The benchmarks run on the real disk (b.TempDir) and report msgs/s, so
// that Put can be compared with the two baselines measured in the same
// run: BenchmarkFsync (one 4 KB append + fsync, the device floor) and
// BenchmarkPebbleCeiling (bare Pebble, one committer, batches of 64 with
// Sync: the ceiling the group committer aims at).

const benchSize = 4096

func benchBody() []byte {
	b := make([]byte, benchSize)
	for i := range b {
		b[i] = "<Bericht>0123456789abcdef</Bericht>"[i%35]
	}
	return b
}

func msgsPerSec(b *testing.B, n int) {
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkFsync measures the raw fsync rate of the disk under b.TempDir:
// append 4 KB, fsync, repeat.
func BenchmarkFsync(b *testing.B) {
	f, err := os.Create(filepath.Join(b.TempDir(), "fsync"))
	require.NoError(b, err)
	defer f.Close()
	buf := benchBody()
	b.SetBytes(benchSize)
	b.ResetTimer()
	for range b.N {
		if _, err := f.Write(buf); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
	}
	msgsPerSec(b, b.N)
}

// BenchmarkPebbleCeiling is bare Pebble with the store's options: one
// goroutine commits batches of 64 × 4 KB with Sync.
func BenchmarkPebbleCeiling(b *testing.B) {
	db, err := pebble.Open(b.TempDir(), &pebble.Options{
		FormatMajorVersion: pebble.FormatNewest, MemTableSize: DefaultMemTableSize,
		Logger: pebbleLogger{},
	})
	require.NoError(b, err)
	defer db.Close()
	body := benchBody()
	key := make([]byte, 9)
	key[0] = 'b'
	b.SetBytes(benchSize)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; {
		batch := db.NewBatch()
		for j := 0; j < 64 && i < b.N; j++ {
			binary.BigEndian.PutUint64(key[1:], uint64(i))
			_ = batch.Set(key, body, nil)
			i++
		}
		if err := batch.Commit(pebble.Sync); err != nil {
			b.Fatal(err)
		}
		_ = batch.Close()
	}
	msgsPerSec(b, b.N)
}

func openBench(b *testing.B, cfg Config) *Store {
	b.Helper()
	if cfg.Dir == "" {
		cfg.Dir = b.TempDir()
	}
	p, err := Open(context.Background(), cfg)
	require.NoError(b, err)
	b.Cleanup(func() { _ = p.Close() })
	return p
}

// BenchmarkPut stores 4 KB messages through the group committer with 1,
// 8 and 64 concurrent callers, each Put returning after a synced commit.
func BenchmarkPut(b *testing.B) {
	for _, writers := range []int{1, 8, 64} {
		b.Run("writers="+strconv.Itoa(writers), func(b *testing.B) {
			p := openBench(b, Config{})
			body := benchBody()
			var next atomic.Int64
			b.SetBytes(benchSize)
			b.ReportAllocs()
			b.ResetTimer()
			var wg sync.WaitGroup
			for w := range writers {
				wg.Go(func() {
					for {
						i := next.Add(1)
						if i > int64(b.N) {
							return
						}
						_, err := p.Put(context.Background(), &store.Message{
							Soort: "WMO315", Sender: "12345678", Recipient: fmt.Sprint("06", w%10),
							Identificatie: strconv.FormatInt(i, 10), Body: body,
						})
						if err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			msgsPerSec(b, b.N)
			b.ReportMetric(float64(b.N)/float64(max(p.Stats().Commits, 1)), "msgs/commit")
		})
	}
}

// fill puts n messages for party with 64 writers.
func fill(b *testing.B, p *Store, party string, n int) []store.ID {
	b.Helper()
	body := benchBody()
	ids := make([]store.ID, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				r, err := p.Put(context.Background(), &store.Message{Soort: "WMO315", Sender: "12345678",
					Recipient: party, Identificatie: fmt.Sprintf("%s-%d-%d", party, time.Now().UnixNano(), i), Body: body})
				if err != nil {
					b.Error(err)
					return
				}
				ids[i] = r.ID
			}
		})
	}
	wg.Wait()
	return ids
}

// BenchmarkGet reads 4 KB messages back.
func BenchmarkGet(b *testing.B) {
	p := openBench(b, Config{})
	ids := fill(b, p, "0363", 1000)
	b.SetBytes(benchSize)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := p.Get(context.Background(), "0363", ids[i%len(ids)]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkListAck is one poll cycle of a single poller: List(1) leases the
// oldest message (a synced commit), Ack confirms it (another).
func BenchmarkListAck(b *testing.B) {
	p := openBench(b, Config{})
	fill(b, p, "0363", b.N)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		l, err := p.List(ctx, "0363", 1)
		if err != nil || len(l) != 1 {
			b.Fatalf("list: %v %d", err, len(l))
		}
		if err := p.Ack(ctx, "0363", l[0].ID); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkList250 lists (and leases) full pages of 250.
func BenchmarkList250(b *testing.B) {
	p := openBench(b, Config{})
	fill(b, p, "0363", 250*b.N)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		l, err := p.List(ctx, "0363", 250)
		if err != nil || len(l) != 250 {
			b.Fatalf("list: %v %d", err, len(l))
		}
	}
	msgsPerSec(b, 250*b.N)
}

// BenchmarkListAfterAcks compares List on a mailbox that has seen a million
// confirmed messages (point tombstones, no janitor, no compaction: the
// worst case) with the same mailbox in an empty store. The acked history
// is written white-box with NoSync batches, as Ack leaves it: deleted
// mailbox entries and a persisted head. Set STORE_BENCH_ACKED to change
// the count; -short uses 100,000.
//
//   - scan: every pending message is leased, so List returns nothing and
//     writes nothing: the pure read path from the head.
//   - cycle: Put 10, List 10, Ack 10: the synced round trip.
//   - prefix-scan: what List would cost without the head cursor, a fresh
//     iterator's First() from the mailbox prefix (not a store API).
func BenchmarkListAfterAcks(b *testing.B) {
	acked := 1_000_000
	if testing.Short() {
		acked = 100_000
	}
	if n, err := strconv.Atoi(os.Getenv("STORE_BENCH_ACKED")); err == nil {
		acked = n
	}
	for _, history := range []int{0, acked} {
		dir := b.TempDir()
		clock := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
		now := func() time.Time { return clock }
		if history > 0 {
			buildAckedHistory(b, dir, "0363", history)
		}
		p := openBench(b, Config{Dir: dir, Now: now, Policy: store.Policy{MaxDeliveries: 1000}})
		ctx := context.Background()
		fill(b, p, "0363", 10)
		_, err := p.List(ctx, "0363", 10) // lease all ten
		require.NoError(b, err)
		name := fmt.Sprintf("acked=%d", history)

		b.Run("scan/"+name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				l, err := p.List(ctx, "0363", 10)
				if err != nil || len(l) != 0 {
					b.Fatalf("list: %v %d", err, len(l))
				}
			}
		})
		b.Run("prefix-scan/"+name, func(b *testing.B) {
			for range b.N {
				it, err := p.db.NewIter(&pebble.IterOptions{LowerBound: queuePrefix("0363"), UpperBound: queueUpper("0363")})
				require.NoError(b, err)
				if !it.First() {
					b.Fatal("no entries")
				}
				_ = it.Close()
			}
		})
		b.Run("cycle/"+name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				b.StopTimer()
				clock = clock.Add(time.Hour) // old leases expire: confirm them too
				b.StartTimer()
				fill(b, p, "0363", 10)
				l, err := p.List(ctx, "0363", 250)
				if err != nil || len(l) < 10 {
					b.Fatalf("list: %v %d", err, len(l))
				}
				for _, e := range l {
					if err := p.Ack(ctx, "0363", e.ID); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
		require.NoError(b, p.Close())
	}
}

// buildAckedHistory leaves dir with n confirmed messages in party's
// mailbox the way Ack leaves them: each entry written, then point-deleted,
// and the head persisted past the last one.
func buildAckedHistory(b *testing.B, dir, party string, n int) {
	b.Helper()
	p, err := Open(context.Background(), Config{Dir: dir})
	require.NoError(b, err)
	ids := make([]store.ID, n)
	g := idGen{rand: func(x []byte) {}}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	e := recordEntry{Received: t0, Size: benchSize, Soort: "WMO315", Sender: "12345678"}
	val := e.encode(false)
	for i := range ids {
		ids[i] = g.next(t0.Add(time.Duration(i) * time.Microsecond))
	}
	const chunk = 10000
	for _, del := range []bool{false, true} {
		for i := 0; i < n; i += chunk {
			batch := p.db.NewBatch()
			for _, id := range ids[i:min(i+chunk, n)] {
				if del {
					_ = batch.Delete(queueKey(party, id), nil)
				} else {
					_ = batch.Set(queueKey(party, id), val, nil)
				}
			}
			require.NoError(b, batch.Commit(pebble.NoSync))
			_ = batch.Close()
		}
	}
	head := succ(ids[n-1])
	require.NoError(b, p.db.Set(headKey(party), head[:], pebble.NoSync))
	require.NoError(b, p.db.Set(keyLastID, head[:], pebble.Sync))
	require.NoError(b, p.db.Flush())
	require.NoError(b, p.Close())
}
