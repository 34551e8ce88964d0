package natstest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/nats-io/nats.go"
	js "github.com/nats-io/nats.go/jetstream"

	"github.com/knooppunt/knooppunt/store/storetest"
)

var bareSeq atomic.Int64

// MeasureBarePublish measures synced publishes straight to a fresh R3
// stream on the cluster at url, from writers goroutines, with msg(i) as
// the i-th message: the ceiling a JetStream store is measured against. The
// stream is deleted afterwards.
func MeasureBarePublish(b *testing.B, url string, writers int, msg func(i int) []byte) {
	ctx := context.Background()
	nc, err := nats.Connect(url)
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	j, err := js.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	name := fmt.Sprintf("BARE%d", bareSeq.Add(1))
	if _, err := j.CreateStream(ctx, js.StreamConfig{Name: name, Subjects: []string{name + ".>"}, Storage: js.FileStorage, Replicas: 3}); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = j.DeleteStream(ctx, name) }()
	storetest.Measure(b, writers, func(i int) error {
		_, err := j.Publish(ctx, fmt.Sprintf("%s.p%d", name, i%writers), msg(i))
		return err
	})
}
