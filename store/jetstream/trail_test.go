package jetstream_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/store"
	"github.com/knooppunt/knooppunt/store/jetstream"
	"github.com/knooppunt/knooppunt/store/jetstream/natstest"
)

// TestTrailLog: a Put with a reception writes it into the log of the node
// that stored it, an identical resend writes one of its own, and a Put
// without one writes none; each node reads its own log only, in order,
// from a position and up to a limit, and keeps its trail's head.
func TestTrailLog(t *testing.T) {
	ctx := context.Background()
	srv := natstest.Start(t)
	open := func(node string) *jetstream.Store {
		s, err := jetstream.Open(ctx, jetstream.Config{URL: srv.ClientURL(), Replicas: 1, Node: node,
			Policy: store.Policy{JanitorInterval: time.Hour}})
		require.NoError(t, err)
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	a, b := open("a"), open("b")
	at := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	msg := func(n int, r *store.Reception) *store.Message {
		return &store.Message{Soort: "WMO301", Sender: "0384", Recipient: "42420001", Identificatie: fmt.Sprint("T", n),
			Body: []byte(fmt.Sprint("<m>", n, "</m>")), Reception: r}
	}
	r1 := &store.Reception{At: at, Principal: "0384", Remote: "192.0.2.1:5000"}
	first, err := a.Put(ctx, msg(1, r1))
	require.NoError(t, err)
	_, err = a.Put(ctx, msg(2, nil))
	require.NoError(t, err)
	again, err := a.Put(ctx, msg(1, &store.Reception{At: at.Add(time.Second), Principal: "0384"}))
	require.NoError(t, err)
	require.True(t, again.Duplicate)
	third, err := b.Put(ctx, msg(3, &store.Reception{At: at, Principal: "0384"}))
	require.NoError(t, err)

	la := a.TrailLog()
	var cs []store.Change
	for name, read := range map[string]func(context.Context, uint64, int) ([]store.Change, error){
		"Changes": la.Changes, "LatestChanges": la.LatestChanges, // one server: the replica is the leader
	} {
		var err error
		cs, err = read(ctx, 0, 10)
		require.NoError(t, err, name)
		require.Len(t, cs, 2, "%s: the put with a reception and the resend; not the put without, nor node b's", name)
		assert.Equal(t, store.OpPut, cs[0].Op, name)
		assert.Equal(t, first.ID, cs[0].ID, name)
		assert.Equal(t, *r1, *cs[0].Reception, name)
		assert.Equal(t, store.OpReceived, cs[1].Op, name)
		assert.Equal(t, first.ID, cs[1].ID, name)
		assert.Less(t, cs[0].Seq, cs[1].Seq, name)

		one, err := read(ctx, 0, 1)
		require.NoError(t, err, name)
		require.Len(t, one, 1, "%s: up to the limit", name)
		rest, err := read(ctx, one[0].Seq, 10)
		require.NoError(t, err, name)
		require.Len(t, rest, 1, "%s: after a position", name)
		assert.Equal(t, cs[1].Seq, rest[0].Seq, name)
	}

	lb := b.TrailLog()
	cs, err = lb.LatestChanges(ctx, 0, 10)
	require.NoError(t, err)
	require.Len(t, cs, 1)
	assert.Equal(t, third.ID, cs[0].ID)

	_, ok, err := la.TrailHead(ctx)
	require.NoError(t, err)
	assert.False(t, ok, "none kept yet")
	for _, h := range []store.TrailHead{{Seq: 3, Hash: "abc", Feed: 7}, {Seq: 5, Hash: "def", Feed: 9}} {
		require.NoError(t, la.SaveTrailHead(ctx, h))
		got, ok, err := la.TrailHead(ctx)
		require.NoError(t, err)
		require.True(t, ok)
		assert.Equal(t, h, got)
	}
	_, ok, err = lb.TrailHead(ctx)
	require.NoError(t, err)
	assert.False(t, ok, "each node its own head")

	s, err := jetstream.Open(ctx, jetstream.Config{URL: srv.ClientURL(), Replicas: 1, Policy: store.Policy{JanitorInterval: time.Hour}})
	require.NoError(t, err)
	defer s.Close()
	assert.Nil(t, s.TrailLog(), "no log without a node name")
}
