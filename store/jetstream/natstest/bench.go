package natstest

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	js "github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"

	"github.com/knooppunt/knooppunt/store/storetest"
)

var bareSeq atomic.Int64

// MeasureBarePublish measures synced publishes straight to a fresh R3
// stream on the cluster at url, from writers goroutines, with msg(i) as
// the i-th message: the ceiling a JetStream store is measured against. The
// stream is deleted afterwards.
func MeasureBarePublish(b *testing.B, url string, writers int, msg func(i int) []byte) {
	ctx := context.Background()
	bs := newBareStream(b, url, js.StreamConfig{Replicas: 3})
	storetest.Measure(b, writers, func(i int) error {
		_, err := bs.js.Publish(ctx, fmt.Sprintf("%s.p%d", bs.name, i%writers), msg(i))
		return err
	})
}

// bareStream is a fresh stream of its own on a cluster, with the
// connection that made it; both go when the benchmark ends.
type bareStream struct {
	nc   *nats.Conn
	js   js.JetStream
	st   js.Stream
	name string
}

// newBareStream creates a file-backed stream with cfg's settings, under a
// name and subjects of its own, on the cluster at url.
func newBareStream(b *testing.B, url string, cfg js.StreamConfig) bareStream {
	ctx := context.Background()
	nc, err := nats.Connect(url)
	if err != nil {
		b.Fatal(err)
	}
	j, err := js.New(nc)
	if err != nil {
		nc.Close()
		b.Fatal(err)
	}
	name := fmt.Sprintf("BARE%d", bareSeq.Add(1))
	cfg.Name, cfg.Subjects, cfg.Storage = name, []string{name + ".>"}, js.FileStorage
	st, err := j.CreateStream(ctx, cfg)
	if err != nil {
		nc.Close()
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = j.DeleteStream(context.Background(), name)
		nc.Close()
	})
	return bareStream{nc: nc, js: j, st: st, name: name}
}

// MeasureBareConsume measures the least a mailbox consumer asks of an R3
// stream on the cluster at url: b.N messages msg(i) are stored (not
// timed), then consumers goroutines take them consumePage at a time,
// lease the page in one atomic batch (a message each), and for each
// message read it (a direct get) and confirm it (a synced publish). No
// listing, index, history or HTTP: the ceiling a JetStream store's
// consume path is measured against. The stream is deleted afterwards.
func MeasureBareConsume(b *testing.B, url string, consumers int, msg func(i int) []byte) {
	ctx := context.Background()
	bs := newBareStream(b, url, js.StreamConfig{Replicas: 3, AllowDirect: true, AllowAtomicPublish: true})
	nc, j, st, name := bs.nc, bs.js, bs.st, bs.name
	for i := range b.N {
		if _, err := j.PublishAsync(fmt.Sprintf("%s.q.%d", name, i), msg(i)); err != nil {
			b.Fatal(err)
		}
	}
	select {
	case <-j.PublishAsyncComplete():
	case <-time.After(time.Minute):
		b.Fatal("storing the messages took over a minute")
	}
	lease := func(from, to int) error {
		id := nuid.Next()
		for i := from; i < to; i++ {
			m := nats.NewMsg(fmt.Sprintf("%s.l.%d", name, i))
			m.Header.Set("Nats-Batch-Id", id)
			m.Header.Set("Nats-Batch-Sequence", strconv.Itoa(i-from+1))
			if i < to-1 {
				if err := nc.PublishMsg(m); err != nil {
					return err
				}
				continue
			}
			m.Header.Set("Nats-Batch-Commit", "1")
			if _, err := nc.RequestMsgWithContext(ctx, m); err != nil {
				return err
			}
		}
		return nil
	}
	var next atomic.Int64
	var failed atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range consumers {
		wg.Go(func() {
			for {
				from := int(next.Add(consumePage)) - consumePage
				if from >= b.N {
					return
				}
				to := min(from+consumePage, b.N)
				if err := lease(from, to); err != nil {
					failed.Add(1)
					return
				}
				for i := from; i < to; i++ {
					if _, err := st.GetLastMsgForSubject(ctx, fmt.Sprintf("%s.q.%d", name, i)); err != nil {
						failed.Add(1)
						return
					}
					if _, err := j.Publish(ctx, fmt.Sprintf("%s.a.%d", name, i), nil); err != nil {
						failed.Add(1)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	el := time.Since(start)
	b.StopTimer()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d consumers failed", n)
	}
	b.ReportMetric(float64(b.N)/el.Seconds(), "msgs/s")
}

// consumePage is how many messages one lease of MeasureBareConsume
// takes, as many as one listing of the node's consume benchmark.
const consumePage = 50
