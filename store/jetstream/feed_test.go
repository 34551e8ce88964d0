package jetstream_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/store"
	"github.com/knooppunt/knooppunt/store/jetstream"
	"github.com/knooppunt/knooppunt/store/jetstream/natstest"
	"github.com/knooppunt/knooppunt/store/storetest"
)

// TestFollow: Follow delivers what every client of the cluster stored, in
// order, with the answered heenbericht and the bytes of what other
// clients stored (those of its own client's puts it leaves to Get),
// resumes after a given position, and ends with ctx or with the
// callback's error.
func TestFollow(t *testing.T) {
	ctx := context.Background()
	srv := natstest.Start(t)
	openC := func() *jetstream.Store {
		s, err := jetstream.Open(ctx, jetstream.Config{URL: srv.ClientURL(), Replicas: 1})
		require.NoError(t, err)
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	a, b := openC(), openC()
	heen := storetest.Msg("0363", "12345678", "WMO301", "T1", "one")
	r1, err := a.Put(ctx, heen)
	require.NoError(t, err)
	retour := storetest.Msg("12345678", "0363", "WMO302", "T1", "two")
	retour.Answers = r1.ID
	r2, err := b.Put(ctx, retour)
	require.NoError(t, err)
	r3, err := b.Put(ctx, storetest.Msg("0599", "65656055", "WMO301", "T2", "three"))
	require.NoError(t, err)

	// follow collects n messages from position after, then stops.
	follow := func(s *jetstream.Store, after uint64, n int) []store.Change {
		var got []store.Change
		done := errors.New("enough")
		fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		err := s.Follow(fctx, after, func(m store.Change) error {
			got = append(got, m)
			if len(got) == n {
				return done
			}
			return nil
		})
		require.ErrorIs(t, err, done)
		return got
	}
	all := follow(a, 0, 3)
	assert.Equal(t, []store.ID{r1.ID, r2.ID, r3.ID}, []store.ID{all[0].ID, all[1].ID, all[2].ID})
	assert.Nil(t, all[0].Body, "a message this client stored comes without its bytes")
	assert.Equal(t, retour.Body, all[1].Body, "one another client stored, with them")
	assert.Equal(t, heen.Body, follow(b, 0, 1)[0].Body)
	assert.Equal(t, heen.Body, follow(a, 0, 1)[0].Body, "passed once, its own are read like any other")
	assert.Equal(t, "WMO302", all[1].Soort)
	assert.Equal(t, "12345678", all[1].Sender)
	assert.Equal(t, "0363", all[1].Recipient)
	assert.Equal(t, r1.ID, all[1].Answers, "the retour names its heenbericht")
	assert.True(t, all[0].Answers.IsZero())
	assert.Less(t, all[0].Seq, all[1].Seq)

	head, err := b.Head(ctx)
	require.NoError(t, err)
	assert.Equal(t, all[2].Seq, head, "the head is the newest record")

	rest := follow(b, all[0].Seq, 2)
	assert.Equal(t, r2.ID, rest[0].ID, "resumes after the position")

	// A message stored while following arrives too.
	got := make(chan store.Change, 1)
	fctx, cancel := context.WithCancel(ctx)
	ended := make(chan error, 1)
	go func() {
		ended <- a.Follow(fctx, all[2].Seq, func(m store.Change) error { got <- m; return nil })
	}()
	r4, err := b.Put(ctx, storetest.Msg("0363", "12345678", "WMO305", "T3", "four"))
	require.NoError(t, err)
	select {
	case m := <-got:
		assert.Equal(t, r4.ID, m.ID)
	case <-time.After(30 * time.Second):
		t.Fatal("a message stored while following was not delivered")
	}
	cancel()
	assert.ErrorIs(t, <-ended, context.Canceled)
}
