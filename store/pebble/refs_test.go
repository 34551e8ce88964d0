package pebble_test

import (
	"context"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/store"
	"github.com/knooppunt/knooppunt/store/pebble"
	"github.com/knooppunt/knooppunt/store/storetest"
)

func TestRefsSurviveRestartAndExpire(t *testing.T) {
	ctx := context.Background()
	fs := vfs.NewMem()
	clock := storetest.NewClock(t0)
	cfg := memConfig(fs, clock)
	cfg.MetadataRetention = 48 * time.Hour
	s, err := pebble.Open(ctx, cfg)
	require.NoError(t, err)
	one, two := sha256.Sum256([]byte("one")), sha256.Sum256([]byte("two"))
	const ref = "6f1c7e0a-3b1d-4c2e-9f00-0123456789ab"

	c, err := s.ClaimRef(ctx, "0363", ref, one)
	require.NoError(t, err)
	assert.Equal(t, store.RefNew, c)
	c, err = s.ClaimRef(ctx, "0599", ref, two)
	require.NoError(t, err)
	assert.Equal(t, store.RefNew, c, "another zender may use the same number")
	require.NoError(t, s.AddDi01(ctx, ref, "12345678"))
	id := store.ID{7}
	require.NoError(t, s.BindMessage(ctx, id, ref))
	require.NoError(t, s.Close())

	s, err = pebble.Open(ctx, cfg)
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, s.Check(ctx))
	for _, tc := range []struct {
		sum  [32]byte
		want store.RefClaim
	}{{one, store.RefResend}, {two, store.RefTaken}} {
		c, err = s.ClaimRef(ctx, "0363", ref, tc.sum)
		require.NoError(t, err)
		assert.Equal(t, tc.want, c)
	}
	ontvanger, ok, err := s.Di01(ctx, ref)
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, "12345678", ontvanger)
	got, ok, err := s.MessageRef(ctx, id)
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, ref, got)

	// Released: free again.
	require.NoError(t, s.ReleaseRef(ctx, "0363", ref))
	c, err = s.ClaimRef(ctx, "0363", ref, two)
	require.NoError(t, err)
	assert.Equal(t, store.RefNew, c)

	// After the retention, gone, and the janitor removes them.
	clock.Advance(49 * time.Hour)
	_, ok, err = s.Di01(ctx, ref)
	require.NoError(t, err)
	assert.False(t, ok)
	_, ok, err = s.MessageRef(ctx, id)
	require.NoError(t, err)
	assert.False(t, ok)
	c, err = s.ClaimRef(ctx, "0599", ref, one)
	require.NoError(t, err)
	assert.Equal(t, store.RefNew, c, "an expired claim is free")
	require.NoError(t, s.RunJanitor(ctx))
	require.NoError(t, s.Check(ctx))
	c, err = s.ClaimRef(ctx, "0599", ref, two)
	require.NoError(t, err)
	assert.Equal(t, store.RefTaken, c, "the janitor keeps a claim renewed since")
}

func TestRecordDi01(t *testing.T) {
	ctx := context.Background()
	fs := vfs.NewMem()
	cfg := memConfig(fs, storetest.NewClock(t0))
	s, err := pebble.Open(ctx, cfg)
	require.NoError(t, err)
	id := store.ID{9}
	require.NoError(t, s.RecordDi01(ctx, "ref-1", "0363", id))
	require.ErrorIs(t, s.RecordDi01(ctx, "ref-2", "0363", store.ID{}), store.ErrInvalid)
	require.NoError(t, s.Close())
	s, err = pebble.Open(ctx, cfg)
	require.NoError(t, err)
	defer s.Close()
	ontvanger, ok, err := s.Di01(ctx, "ref-1")
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, "0363", ontvanger)
	ref, ok, err := s.MessageRef(ctx, id)
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, "ref-1", ref)
	_, ok, err = s.Di01(ctx, "ref-2")
	require.NoError(t, err)
	assert.False(t, ok, "a refused call writes nothing")
}

func TestRefsRefuseBadInput(t *testing.T) {
	ctx := context.Background()
	s, err := pebble.Open(ctx, memConfig(vfs.NewMem(), storetest.NewClock(t0)))
	require.NoError(t, err)
	defer s.Close()
	long := string(make([]byte, store.MaxRefLen+1))
	_, err = s.ClaimRef(ctx, "", "r", [32]byte{})
	assert.ErrorIs(t, err, store.ErrInvalid)
	_, err = s.ClaimRef(ctx, "0363", long, [32]byte{})
	assert.ErrorIs(t, err, store.ErrInvalid)
	assert.ErrorIs(t, s.AddDi01(ctx, "r\x00x", "0363"), store.ErrInvalid)
	assert.ErrorIs(t, s.BindMessage(ctx, store.ID{}, "r"), store.ErrInvalid)
	_, _, err = s.Di01(ctx, "")
	assert.ErrorIs(t, err, store.ErrInvalid)
}

func TestRefsContract(t *testing.T) {
	storetest.RunRefs(t, func(t *testing.T, o storetest.Options) (store.RefStore, func() store.RefStore) {
		fs := vfs.NewMem()
		cfg := pebble.Config{Dir: "db", FS: fs, Now: o.Now, Policy: o.Policy}
		var cur *pebble.Store
		openP := func() store.RefStore {
			if cur != nil {
				require.NoError(t, cur.Close())
			}
			s, err := pebble.Open(context.Background(), cfg)
			require.NoError(t, err)
			t.Cleanup(func() { _ = s.Close() })
			cur = s
			return s
		}
		return openP(), openP
	})
}

func TestCorrelationsContract(t *testing.T) {
	storetest.RunCorrelations(t, func(t *testing.T, o storetest.Options) (storetest.Correlator, func() storetest.Correlator) {
		fs := vfs.NewMem()
		cfg := pebble.Config{Dir: "db", FS: fs, Now: o.Now, Policy: o.Policy}
		var cur *pebble.Store
		openP := func() storetest.Correlator {
			if cur != nil {
				require.NoError(t, cur.Close())
			}
			s, err := pebble.Open(context.Background(), cfg)
			require.NoError(t, err)
			t.Cleanup(func() { _ = s.Close() })
			cur = s
			return s
		}
		return openP(), openP
	})
}
