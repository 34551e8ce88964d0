package node

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/nats-io/nats.go"
	js "github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/gateway"
	"github.com/knooppunt/knooppunt/sample"
	"github.com/knooppunt/knooppunt/store/jetstream/natstest"
	"github.com/knooppunt/knooppunt/store/pebble"
	"github.com/knooppunt/knooppunt/store/storetest"
)

// BenchmarkIngestBackends is the end-to-end comparison of the backends in one run:
// 64 HTTP clients post generated WMO301s (unique Identificatie each) to a
// node as `serve --dev` runs it (rules, audit trail, information products;
// limits off), on the single-node Pebble store and on the JetStream store
// of a three-node R3 cluster on this machine, and — the ceiling — 64
// publishers publish the same bytes, synced, into a bare R3 stream on that
// cluster. Every NATS server runs with sync_interval: always.
//
//	go test -run '^$' -bench BenchmarkIngestBackends -benchtime 3000x -count 3 ./node/
func BenchmarkIngestBackends(b *testing.B) {
	s, _ := bericht.Lookup("WMO301")
	gen := sample.New(77)
	messages := func(n int) [][]byte {
		out := make([][]byte, n)
		for i := range out {
			m, err := gen.Heen(s, sample.Options{Afzender: "0384", Ontvanger: "42420001"})
			if err != nil {
				b.Fatal(err)
			}
			out[i] = m.XML
		}
		return out
	}
	var cluster *natstest.Cluster
	clusterOnce := func() *natstest.Cluster {
		if cluster == nil {
			cluster = natstest.StartCluster(b, 3)
		}
		return cluster
	}
	post := func(b *testing.B, storeURL string) {
		cfg := Config{Dev: true, Addr: "127.0.0.1:0", Store: pebble.Config{Dir: b.TempDir() + "/data"},
			StoreURL: storeURL, AnswerRules: true, Insight: InsightConfig{Enabled: true},
			Security: SecurityConfig{Limits: gateway.Limits{Rate: -1, Concurrent: -1}}, Logger: zerolog.Nop()}
		n, err := Start(context.Background(), cfg)
		if err != nil {
			b.Fatal(err)
		}
		defer n.Close()
		msgs := messages(b.N)
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
		defer client.CloseIdleConnections()
		storetest.Measure(b, 64, func(i int) error {
			req, _ := http.NewRequest(http.MethodPost, n.URL()+"/v1/berichten", bytes.NewReader(msgs[i]))
			req.Header.Set("Authorization", "Bearer dev-0384")
			req.Header.Set("Content-Type", "application/xml")
			resp, err := client.Do(req)
			if err != nil {
				return err
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted {
				return fmt.Errorf("status %d", resp.StatusCode)
			}
			return nil
		})
	}
	b.Run("pebble", func(b *testing.B) { post(b, "") })
	b.Run("jetstream-R3", func(b *testing.B) {
		c := clusterOnce()
		post(b, c.URL()+"?replicas=3&stream=KPBENCH")
		// The next round starts on an empty stream (each stream of the
		// store claims the same subjects).
		nc, err := nats.Connect(c.URL())
		if err != nil {
			b.Fatal(err)
		}
		defer nc.Close()
		j, _ := js.New(nc)
		if err := j.DeleteStream(context.Background(), "KPBENCH"); err != nil {
			b.Fatal(err)
		}
	})
	b.Run("bare-publish-R3", func(b *testing.B) {
		msgs := messages(b.N)
		natstest.MeasureBarePublish(b, clusterOnce().URL(), 64, func(i int) []byte { return msgs[i] })
	})
}
