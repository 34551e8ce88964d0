package pebble_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/store"
	"github.com/knooppunt/knooppunt/store/pebble"
	"github.com/knooppunt/knooppunt/store/storetest"
)

// receptions returns the receptions the feed carries after position
// after, by message id, in feed order.
func receptions(t *testing.T, s *pebble.Store, after uint64) (ids []store.ID, ops []store.Op, recs []store.Reception) {
	t.Helper()
	cs, err := s.Changes(context.Background(), after, 10000)
	require.NoError(t, err)
	for _, c := range cs {
		if c.Reception != nil {
			ids, ops, recs = append(ids, c.ID), append(ops, c.Op), append(recs, *c.Reception)
		}
	}
	return ids, ops, recs
}

// TestReceptionOnTheFeed: a message's reception rides in the change of
// its own commit, for a new message (OpPut) and for an identical resend
// (OpReceived, with the original's id), and not for a refused Put or a
// Put without one.
func TestReceptionOnTheFeed(t *testing.T) {
	ctx := context.Background()
	s, err := pebble.Open(ctx, memConfig(vfs.NewMem(), storetest.NewClock(t0)))
	require.NoError(t, err)
	defer s.Close()
	at := t0.Add(time.Second)
	put := func(ident, variant, principal string) (store.Receipt, error) {
		m := storetest.Msg("12345678", "0363", "WMO315", ident, variant)
		if principal != "" {
			m.Reception = &store.Reception{At: at, Principal: principal, Remote: "192.0.2.1:4000"}
		}
		return s.Put(ctx, m)
	}
	a, err := put("A", "", "12345678")
	require.NoError(t, err)
	_, err = put("B", "", "")
	require.NoError(t, err)
	resend, err := put("A", "", "87654321")
	require.NoError(t, err)
	require.True(t, resend.Duplicate)
	_, err = put("A", "other", "12345678")
	require.ErrorIs(t, err, store.ErrDuplicate)
	_, err = put("C", "", strings.Repeat("x", store.MaxReceptionLen+1))
	require.ErrorIs(t, err, store.ErrInvalid)
	c, err := put("C", "", "12345678")
	require.NoError(t, err)

	ids, ops, recs := receptions(t, s, 0)
	assert.Equal(t, []store.ID{a.ID, a.ID, c.ID}, ids)
	assert.Equal(t, []store.Op{store.OpPut, store.OpReceived, store.OpPut}, ops)
	assert.Equal(t, []string{"12345678", "87654321", "12345678"}, []string{recs[0].Principal, recs[1].Principal, recs[2].Principal})
	for _, r := range recs {
		assert.True(t, r.At.Equal(at))
		assert.Equal(t, "192.0.2.1:4000", r.Remote)
	}
	require.NoError(t, s.Check(ctx), "receptions do not trouble the checker")
}

// TestTrailHead: the trail's head and its feed position are kept and read
// back; before any, there is none.
func TestTrailHead(t *testing.T) {
	ctx := context.Background()
	s, err := pebble.Open(ctx, memConfig(vfs.NewMem(), storetest.NewClock(t0)))
	require.NoError(t, err)
	defer s.Close()
	_, ok, err := s.TrailHead(ctx)
	require.NoError(t, err)
	assert.False(t, ok)
	for _, h := range []store.TrailHead{{Seq: 7, Hash: "abc", Feed: 3}, {Seq: 9, Hash: "def", Feed: 1 << 40}} {
		require.NoError(t, s.SaveTrailHead(ctx, h))
		got, ok, err := s.TrailHead(ctx)
		require.NoError(t, err)
		require.True(t, ok)
		assert.Equal(t, h, got)
	}
}

// TestReceptionSurvivesCrash: the reception of every Put that returned is
// on the feed after a crash that loses what was not synced.
func TestReceptionSurvivesCrash(t *testing.T) {
	ctx := context.Background()
	for round := range 4 {
		fs := vfs.NewCrashableMem()
		s, err := pebble.Open(ctx, pebble.Config{Dir: "db", FS: fs, MemTableSize: 1 << 20})
		require.NoError(t, err)
		want := map[store.ID]string{}
		for i := range 300 {
			m := storetest.Msg("12345678", "0363", "WMO315", fmt.Sprint("R", i), "")
			m.Reception = &store.Reception{At: t0, Principal: fmt.Sprint("p", i)}
			r, err := s.Put(ctx, m)
			require.NoError(t, err)
			want[r.ID] = m.Reception.Principal
		}
		crashed := fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 50, RNG: rand.New(rand.NewPCG(uint64(round), 7))})
		require.NoError(t, s.Close())
		s, err = pebble.Open(ctx, pebble.Config{Dir: "db", FS: crashed})
		require.NoError(t, err)
		ids, _, recs := receptions(t, s, 0)
		got := map[store.ID]string{}
		for i, id := range ids {
			got[id] = recs[i].Principal
		}
		assert.Equal(t, want, got, "round %d", round)
		require.NoError(t, s.Close())
	}
}
