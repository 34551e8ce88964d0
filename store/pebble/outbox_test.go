package pebble_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/store"
	"github.com/knooppunt/knooppunt/store/pebble"
	"github.com/knooppunt/knooppunt/store/storetest"
)

// TestOutbox: a message's record is kept with the id Put returned, for a
// new message and for an identical resend, and not for a refused Put; the
// records come back in commit order until they are dropped.
func TestOutbox(t *testing.T) {
	ctx := context.Background()
	s, err := pebble.Open(ctx, memConfig(vfs.NewMem(), storetest.NewClock(t0)))
	require.NoError(t, err)
	defer s.Close()
	put := func(ident, variant, record string) (store.Receipt, error) {
		m := storetest.Msg("12345678", "0363", "WMO315", ident, variant)
		if record != "" {
			m.Record = []byte(record)
		}
		return s.Put(ctx, m)
	}
	a, err := put("A", "", "rec a")
	require.NoError(t, err)
	_, err = put("B", "", "")
	require.NoError(t, err)
	resend, err := put("A", "", "rec a again")
	require.NoError(t, err)
	require.True(t, resend.Duplicate)
	_, err = put("A", "other", "rec conflict")
	require.ErrorIs(t, err, store.ErrDuplicate)
	_, err = put("C", "", strings.Repeat("x", store.MaxRecordLen+1))
	require.ErrorIs(t, err, store.ErrInvalid)
	c, err := put("C", "", "rec c")
	require.NoError(t, err)

	recs, err := s.OutboxRecords(ctx, 10)
	require.NoError(t, err)
	require.Len(t, recs, 3)
	for i, want := range []struct {
		id   store.ID
		data string
	}{{a.ID, "rec a"}, {a.ID, "rec a again"}, {c.ID, "rec c"}} {
		assert.Equal(t, want.id, recs[i].Message, "record %d", i)
		assert.Equal(t, want.data, string(recs[i].Data), "record %d", i)
	}
	first, err := s.OutboxRecords(ctx, 1)
	require.NoError(t, err)
	assert.Equal(t, recs[:1], first, "limit")

	require.NoError(t, s.DropOutbox(ctx, recs[1].Key, store.TrailHead{Seq: 7, Hash: "abc"}))
	left, err := s.OutboxRecords(ctx, 10)
	require.NoError(t, err)
	assert.Equal(t, recs[2:], left)
	require.NoError(t, s.DropOutbox(ctx, recs[2].Key, store.TrailHead{Seq: 9, Hash: "def"}))
	left, err = s.OutboxRecords(ctx, 10)
	require.NoError(t, err)
	assert.Empty(t, left)
	head, ok, err := s.TrailHead(ctx)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, store.TrailHead{Seq: 9, Hash: "def"}, head, "the head kept with the last drop")
	require.NoError(t, s.Check(ctx), "the outbox does not trouble the checker")
}

// TestOutboxSurvivesCrash: every record of a Put that returned is in the
// outbox after a crash that loses what was not synced.
func TestOutboxSurvivesCrash(t *testing.T) {
	ctx := context.Background()
	for round := range 4 {
		fs := vfs.NewCrashableMem()
		s, err := pebble.Open(ctx, pebble.Config{Dir: "db", FS: fs, MemTableSize: 1 << 20})
		require.NoError(t, err)
		want := map[store.ID]string{}
		for i := range 300 {
			m := storetest.Msg("12345678", "0363", "WMO315", fmt.Sprint("R", i), "")
			m.Record = fmt.Appendf(nil, "record %d", i)
			r, err := s.Put(ctx, m)
			require.NoError(t, err)
			want[r.ID] = string(m.Record)
		}
		crashed := fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 50, RNG: rand.New(rand.NewPCG(uint64(round), 7))})
		require.NoError(t, s.Close())
		s, err = pebble.Open(ctx, pebble.Config{Dir: "db", FS: crashed})
		require.NoError(t, err)
		recs, err := s.OutboxRecords(ctx, 1000)
		require.NoError(t, err)
		got := map[store.ID]string{}
		for _, r := range recs {
			got[r.Message] = string(r.Data)
		}
		assert.Equal(t, want, got, "round %d", round)
		require.NoError(t, s.Close())
	}
}
