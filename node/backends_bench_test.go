package node

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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

// backendRounds is how many times the backend benchmarks run each backend,
// alternating, so that a busy spell of the shared machine falls on both
// rather than on whichever ran during it (-count repeats one backend
// before the next).
var backendRounds = flag.Int("backends.rounds", 3, "rounds of BenchmarkIngestBackends and BenchmarkConsumeBackends, each backend once per round")

// backendBench runs a node as `serve --dev` runs it (rules, audit trail,
// information products; limits off) on each backend in turn: the
// single-node Pebble store and the JetStream store of a three-node R3
// cluster on this machine, every NATS server with sync_interval: always
// and routes straight to the others, as in production.
type backendBench struct {
	top     *testing.B
	cluster *natstest.Cluster
	gen     *sample.Generator
	soort   bericht.Soort
}

func newBackendBench(top *testing.B) *backendBench {
	s, _ := bericht.Lookup("WMO301")
	return &backendBench{top: top, gen: sample.New(77), soort: s}
}

// messages generates n WMO301s from 0384 to 42420001, each with its own
// Identificatie.
func (bb *backendBench) messages(b *testing.B, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		m, err := bb.gen.Heen(bb.soort, sample.Options{Afzender: "0384", Ontvanger: "42420001"})
		if err != nil {
			b.Fatal(err)
		}
		out[i] = m.XML
	}
	return out
}

// clusterURL starts the cluster on first use; it lives until the
// top-level benchmark top ends.
func (bb *backendBench) clusterURL() string {
	if bb.cluster == nil {
		bb.cluster = natstest.StartDirectCluster(bb.top, 3)
	}
	return bb.cluster.URL()
}

// rounds runs each backend once per round, alternating: fn receives a
// started node.
func (bb *backendBench) rounds(b *testing.B, fn func(b *testing.B, n *Node)) {
	for range *backendRounds {
		b.Run("pebble", func(b *testing.B) { bb.withNode(b, "", fn) })
		b.Run("jetstream-R3", func(b *testing.B) {
			url := bb.clusterURL()
			bb.withNode(b, url+"?replicas=3&stream=KPBENCH", fn)
			// The next round starts on an empty stream (each stream of the
			// store claims the same subjects).
			nc, err := nats.Connect(url)
			if err != nil {
				b.Fatal(err)
			}
			defer nc.Close()
			j, _ := js.New(nc)
			if err := j.DeleteStream(context.Background(), "KPBENCH"); err != nil {
				b.Fatal(err)
			}
		})
	}
}

func (bb *backendBench) withNode(b *testing.B, storeURL string, fn func(b *testing.B, n *Node)) {
	cfg := Config{Dev: true, Addr: "127.0.0.1:0", Store: pebble.Config{Dir: b.TempDir() + "/data"},
		StoreURL: storeURL, AnswerRules: true, Insight: InsightConfig{Enabled: true},
		Security: SecurityConfig{Limits: gateway.Limits{Rate: -1, Concurrent: -1}}, Logger: zerolog.Nop()}
	n, err := Start(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer n.Close()
	fn(b, n)
}

// poster posts messages to a node as 0384 and wants each accepted.
func poster(n *Node) (post func(msg []byte) error, done func()) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	return func(msg []byte) error {
		req, _ := http.NewRequest(http.MethodPost, n.URL()+"/v1/berichten", bytes.NewReader(msg))
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
	}, client.CloseIdleConnections
}

// BenchmarkIngestBackends is the end-to-end comparison of the backends in
// one run: 64 HTTP clients post generated WMO301s to a node on each
// backend in turn (backendBench), and — the ceiling — 64 publishers
// publish the same bytes, synced, into a bare R3 stream on that cluster.
//
//	go test -run '^$' -bench BenchmarkIngestBackends -benchtime 3000x ./node/
func BenchmarkIngestBackends(b *testing.B) {
	bb := newBackendBench(b)
	bb.rounds(b, func(b *testing.B, n *Node) {
		msgs := bb.messages(b, b.N)
		post, done := poster(n)
		defer done()
		storetest.Measure(b, 64, func(i int) error { return post(msgs[i]) })
	})
	b.Run("bare-publish-R3", func(b *testing.B) {
		msgs := bb.messages(b, b.N)
		natstest.MeasureBarePublish(b, bb.clusterURL(), 64, func(i int) []byte { return msgs[i] })
	})
}

// BenchmarkConsumeBackends drains a mailbox end to end on each backend in
// turn (backendBench): b.N WMO301s are posted to 42420001 through the node
// (not timed), then 64 consumers drain its mailbox as `knooppunt bench
// --consume` does: list with leases (up to consumeLimit), fetch and
// confirm each message listed, until a listing comes back empty. It
// reports the messages consumed per second, the latency of one fetch +
// confirm pair, and how long until every consumer's first listing had
// answered (first-listings-ms: the leasing at the start). The ceiling,
// run once at the end: 64 consumers lease, read and confirm the same
// bytes straight on a bare R3 stream on that cluster
// (natstest.MeasureBareConsume).
//
//	go test -run '^$' -bench BenchmarkConsumeBackends -benchtime 3000x ./node/
func BenchmarkConsumeBackends(b *testing.B) {
	bb := newBackendBench(b)
	bb.rounds(b, func(b *testing.B, n *Node) {
		fill(b, n, bb.messages(b, b.N))
		drain(b, n)
	})
	b.Run("bare-consume-R3", func(b *testing.B) {
		msgs := bb.messages(b, b.N)
		natstest.MeasureBareConsume(b, bb.clusterURL(), 64, func(i int) []byte { return msgs[i] })
	})
}

// consumeLimit is how many messages one listing of the consume benchmark
// leases: with 64 consumers and a few thousand messages every consumer
// gets some (with bench's 250, a dozen would take them all).
const consumeLimit = 50

// fill posts msgs, 64 at a time.
func fill(b *testing.B, n *Node, msgs [][]byte) {
	post, done := poster(n)
	defer done()
	var next, failed atomic.Int64
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < len(msgs); i = int(next.Add(1)) - 1 {
				if err := post(msgs[i]); err != nil {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if failed.Load() > 0 {
		b.Fatalf("filling the mailbox: %d of %d posts failed", failed.Load(), len(msgs))
	}
}

// drain empties 42420001's mailbox with 64 consumers and reports the rate.
func drain(b *testing.B, n *Node) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	defer client.CloseIdleConnections()
	do := func(method, path string) (int, []byte, error) {
		req, _ := http.NewRequest(method, n.URL()+path, nil)
		req.Header.Set("Authorization", "Bearer dev-42420001")
		resp, err := client.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return resp.StatusCode, body, err
	}
	var (
		consumed, failed atomic.Int64
		mu               sync.Mutex
		lat              []time.Duration
		leased           time.Duration // until every consumer's first listing answered
		wg               sync.WaitGroup
	)
	b.ResetTimer()
	start := time.Now()
	for range 64 {
		wg.Go(func() {
			var mine []time.Duration
			defer func() { mu.Lock(); lat = append(lat, mine...); mu.Unlock() }()
			for first := true; ; first = false {
				status, body, err := do(http.MethodGet, fmt.Sprintf("/v1/mailbox?limit=%d", consumeLimit))
				if first {
					mu.Lock()
					leased = max(leased, time.Since(start))
					mu.Unlock()
				}
				if err != nil || status != http.StatusOK {
					failed.Add(1)
					return
				}
				var l gateway.Listing
				if err := json.Unmarshal(body, &l); err != nil {
					failed.Add(1)
					return
				}
				if len(l.Berichten) == 0 {
					return
				}
				for _, m := range l.Berichten {
					t0 := time.Now()
					fs, _, ferr := do(http.MethodGet, "/v1/mailbox/"+m.ID)
					ds, _, derr := do(http.MethodDelete, "/v1/mailbox/"+m.ID)
					if ferr != nil || derr != nil || fs != http.StatusOK || ds != http.StatusNoContent {
						failed.Add(1)
						continue
					}
					consumed.Add(1)
					mine = append(mine, time.Since(t0))
				}
			}
		})
	}
	wg.Wait()
	el := time.Since(start)
	b.StopTimer()
	if failed.Load() > 0 || consumed.Load() != int64(b.N) {
		b.Fatalf("consumed %d of %d, %d calls failed", consumed.Load(), b.N, failed.Load())
	}
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/el.Seconds(), "msgs/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(leased.Microseconds())/1000, "first-listings-ms")
}
