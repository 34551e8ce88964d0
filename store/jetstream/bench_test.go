package jetstream_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/nats-io/nats.go"
	js "github.com/nats-io/nats.go/jetstream"

	"github.com/knooppunt/knooppunt/store"
	"github.com/knooppunt/knooppunt/store/jetstream"
	"github.com/knooppunt/knooppunt/store/jetstream/natstest"
	"github.com/knooppunt/knooppunt/store/pebble"
	"github.com/knooppunt/knooppunt/store/storetest"
)

// The end-to-end figures of the two backends side by side: 64 concurrent
// writers each Put 4 KiB messages with unique keys, into the single-node
// Pebble store (fsync per commit group) and into this store on a
// three-node R3 cluster on 127.0.0.1 (all nodes share this machine's CPUs
// and disk); the ceiling is bare synced JetStream publish of the same
// bytes by 64 publishers into an R3 stream on the same cluster. Every
// server runs with sync_interval: always. Run with
//
//	go test -run '^$' -bench BenchmarkPut -benchtime 4000x -count 5 ./store/jetstream/
//
// and compare msgs/s and p99-ms.

const benchWriters = 64

var (
	benchOnce    sync.Once
	benchCluster *natstest.Cluster
	benchSeq     atomic.Int64
)

func cluster(b *testing.B) *natstest.Cluster {
	benchOnce.Do(func() { benchCluster = natstest.StartCluster(&onceTB{TB: b}, 3) })
	return benchCluster
}

// onceTB keeps the shared cluster alive past the first benchmark's end:
// it is stopped with the process.
type onceTB struct{ testing.TB }

func (o *onceTB) Cleanup(func()) {}

func BenchmarkPut(b *testing.B) {
	body := make([]byte, 4096)
	_, _ = rand.Read(body)
	b.Run("pebble", func(b *testing.B) {
		s, err := pebble.Open(context.Background(), pebble.Config{Dir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		runPuts(b, s, body)
	})
	for _, inflight := range []int{jetstream.DefaultMaxInflight, 4} {
		b.Run(fmt.Sprintf("jetstream-R3-inflight%d", inflight), func(b *testing.B) {
			c := cluster(b)
			name := fmt.Sprintf("BENCH%d", benchSeq.Add(1))
			s, err := jetstream.Open(context.Background(), jetstream.Config{URL: c.URL(), Stream: name, Subject: name, Replicas: 3, MaxInflight: inflight})
			if err != nil {
				b.Fatal(err)
			}
			defer func() {
				_ = s.Close()
				nc, err := nats.Connect(c.URL())
				if err == nil {
					j, _ := js.New(nc)
					_ = j.DeleteStream(context.Background(), name)
					nc.Close()
				}
			}()
			runPuts(b, s, body)
		})
	}
	b.Run("bare-publish-R3", func(b *testing.B) {
		natstest.MeasureBarePublish(b, cluster(b).URL(), benchWriters, func(int) []byte { return body })
	})
}

func runPuts(b *testing.B, s store.Store, body []byte) {
	ctx := context.Background()
	run := benchSeq.Add(1)
	storetest.Measure(b, benchWriters, func(i int) error {
		_, err := s.Put(ctx, &store.Message{Soort: "WMO315", Sender: "12345678", Recipient: fmt.Sprintf("%04d", i%50),
			Identificatie: fmt.Sprintf("B%d-%d", run, i), Body: body})
		return err
	})
}
