package stuurinfo

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/sample"
	"github.com/knooppunt/knooppunt/store"
	"github.com/knooppunt/knooppunt/store/pebble"
	"github.com/knooppunt/knooppunt/xsd"
)

// TestFollower: every message stored is observed once, in order, with its
// bytes read from the store or its tree when the node holds one, and an
// answer with its heenbericht's facts; a resend is not observed again,
// other changes (a confirmation) move the position without an
// observation, and WaitFor returns once a position is reached. A follower
// started after a position observes only what came after it.
func TestFollower(t *testing.T) {
	ctx := context.Background()
	st, err := pebble.Open(ctx, pebble.Config{Dir: t.TempDir()})
	require.NoError(t, err)
	defer st.Close()
	g := sample.New(2)
	m := heen(t, g, "WMO301", sample.Options{})
	msg := &store.Message{Soort: "WMO301", Sender: m.Header.Sender(), Recipient: m.Header.Recipient(),
		Identificatie: m.Header.Identificatie, Body: m.XML}
	rc, err := st.Put(ctx, msg)
	require.NoError(t, err)
	heenMeta, err := st.Meta(ctx, rc.ID)
	require.NoError(t, err)
	_, err = st.Put(ctx, msg) // a resend is not observed again
	require.NoError(t, err)
	r := answer(t, g, m, sample.AnswerOptions{})
	answerMsg := &store.Message{Soort: "WMO302", Sender: m.Header.Recipient(), Recipient: m.Header.Sender(),
		Identificatie: "r1", Answers: rc.ID, Body: r.XML}
	_, err = st.Put(ctx, answerMsg)
	require.NoError(t, err)
	require.NoError(t, st.Ack(ctx, msg.Recipient, rc.ID))
	head, err := st.Head(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 3, head, "two puts and an ack")

	set, err := xsd.Load(xsd.Config{})
	require.NoError(t, err)
	defer set.Close()
	_, tree, err := set.ValidateTree(r.XML)
	require.NoError(t, err)
	answerSum := sha256.Sum256(r.XML)

	var mu sync.Mutex
	var got []*Observation
	f := Follow(FollowerConfig{Feed: st, Store: st,
		Trees: func(sum [32]byte) *bericht.Tree {
			if sum == answerSum {
				return tree
			}
			return nil
		},
		Observers: []Observer{ObserverFunc(func(o *Observation) {
			mu.Lock()
			got = append(got, o)
			mu.Unlock()
		})}})
	require.NoError(t, f.WaitFor(ctx, head))
	assert.Equal(t, head, f.Position())
	require.NoError(t, f.Close())
	require.NoError(t, f.Close(), "safe twice")
	require.Len(t, got, 2)
	assert.Equal(t, rc.ID, got[0].ID)
	assert.EqualValues(t, 1, got[0].Seq)
	assert.Equal(t, m.XML, got[0].Body, "read from the store")
	assert.Nil(t, got[0].Tree)
	assert.Equal(t, heenMeta.Received, got[0].Received)
	assert.Same(t, tree, got[1].Tree, "the tree the node held")
	assert.Nil(t, got[1].Body)
	assert.Equal(t, "WMO301", got[1].AnswersSoort)
	assert.Equal(t, heenMeta.Received, got[1].AnswersReceived, "the heenbericht's arrival read from the store")

	got = nil
	later := Follow(FollowerConfig{Feed: st, Store: st, After: 1, Observers: []Observer{ObserverFunc(func(o *Observation) {
		mu.Lock()
		got = append(got, o)
		mu.Unlock()
	})}})
	require.NoError(t, later.WaitFor(ctx, head))
	require.NoError(t, later.Close())
	require.Len(t, got, 1, "only what came after position 1")
	assert.Equal(t, "WMO302", got[0].Soort)

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	assert.ErrorIs(t, later.WaitFor(cctx, head+1), context.Canceled)
}

// electing is a store whose first reads of a message's bytes fail as a
// shared store's do while it elects a leader.
type electing struct {
	*pebble.Store
	failures atomic.Int32
}

func (e *electing) Get(ctx context.Context, party string, id store.ID) ([]byte, error) {
	if e.failures.Add(-1) >= 0 {
		return nil, fmt.Errorf("reading message %s: %w", id, store.ErrUnavailable)
	}
	return e.Store.Get(ctx, party, id)
}

// TestFollowerWaitsOutAnElection: bytes the store cannot give for now are
// read again until it can; the follower neither stops nor skips the
// message.
func TestFollowerWaitsOutAnElection(t *testing.T) {
	ctx := context.Background()
	st, err := pebble.Open(ctx, pebble.Config{Dir: t.TempDir()})
	require.NoError(t, err)
	defer st.Close()
	m := heen(t, sample.New(3), "WMO301", sample.Options{})
	_, err = st.Put(ctx, &store.Message{Soort: "WMO301", Sender: m.Header.Sender(), Recipient: m.Header.Recipient(),
		Identificatie: m.Header.Identificatie, Body: m.XML})
	require.NoError(t, err)
	e := &electing{Store: st}
	e.failures.Store(2)
	var mu sync.Mutex
	var got []*Observation
	f := Follow(FollowerConfig{Feed: st, Store: e, Observers: []Observer{ObserverFunc(func(o *Observation) {
		mu.Lock()
		got = append(got, o)
		mu.Unlock()
	})}})
	defer f.Close()
	head, err := st.Head(ctx)
	require.NoError(t, err)
	require.NoError(t, f.WaitFor(ctx, head))
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, got, 1)
	assert.Equal(t, m.XML, got[0].Body)
	assert.Negative(t, e.failures.Load(), "read again after both failures")
}
