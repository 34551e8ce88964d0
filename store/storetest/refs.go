package storetest

import (
	"context"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/store"
)

// RefFactory opens a fresh backend with reference numbers, configured by
// o. reopen, called on the same test, opens the same data again (a
// restart, or another node of a cluster).
type RefFactory func(t *testing.T, o Options) (rs store.RefStore, reopen func() store.RefStore)

// RunRefs is the contract of reference numbers: claims are unique per
// zender and number and tell a resend from a reuse, a release frees one,
// Di01s and the message a Di01 carried are found again after reopening,
// everything is gone after the metadata retention, and bad input is
// refused with store.ErrInvalid.
func RunRefs(t *testing.T, open RefFactory) {
	ctx := context.Background()
	clock := NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	rs, reopen := open(t, Options{Now: clock.Now, Policy: store.Policy{VisibilityTimeout: visibility, MaxDeliveries: maxDeliver,
		PayloadRetention: payloadRet, MetadataRetention: 48 * time.Hour}})
	one, two := sha256.Sum256([]byte("one")), sha256.Sum256([]byte("two"))
	const ref = "6f1c7e0a-3b1d-4c2e-9f00-0123456789ab"
	claim := func(rs store.RefStore, zender string, sum [32]byte, want store.RefClaim, msg string) {
		t.Helper()
		c, err := rs.ClaimRef(ctx, zender, ref, sum)
		require.NoError(t, err)
		assert.Equal(t, want, c, msg)
	}

	claim(rs, "0363", one, store.RefNew, "a free pair")
	claim(rs, "0599", two, store.RefNew, "another zender may use the same number")
	require.NoError(t, rs.AddDi01(ctx, ref, "12345678"))
	id := store.ID{7}
	require.NoError(t, rs.BindMessage(ctx, id, ref))
	other := store.ID{9}
	require.NoError(t, rs.RecordDi01(ctx, "ref-2", "0363", other))

	rs = reopen()
	claim(rs, "0363", one, store.RefResend, "the same payload again")
	claim(rs, "0363", two, store.RefTaken, "another payload under a taken number")
	ontvanger, ok, err := rs.Di01(ctx, ref)
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, "12345678", ontvanger)
	got, ok, err := rs.MessageRef(ctx, id)
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, ref, got)
	ontvanger, ok, err = rs.Di01(ctx, "ref-2")
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, "0363", ontvanger)
	got, ok, err = rs.MessageRef(ctx, other)
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, "ref-2", got)
	_, ok, err = rs.Di01(ctx, "never-sent")
	require.NoError(t, err)
	assert.False(t, ok)

	require.NoError(t, rs.ReleaseRef(ctx, "0363", ref))
	claim(rs, "0363", two, store.RefNew, "a released pair is free again")

	clock.Advance(49 * time.Hour)
	_, ok, err = rs.Di01(ctx, ref)
	require.NoError(t, err)
	assert.False(t, ok, "a Di01 past the retention is gone")
	_, ok, err = rs.MessageRef(ctx, id)
	require.NoError(t, err)
	assert.False(t, ok)
	claim(rs, "0599", one, store.RefNew, "a claim past the retention is free")

	long := string(make([]byte, store.MaxRefLen+1))
	_, err = rs.ClaimRef(ctx, "", "r", [32]byte{})
	assert.ErrorIs(t, err, store.ErrInvalid)
	_, err = rs.ClaimRef(ctx, "0363", long, [32]byte{})
	assert.ErrorIs(t, err, store.ErrInvalid)
	assert.ErrorIs(t, rs.AddDi01(ctx, "r\x00x", "0363"), store.ErrInvalid)
	assert.ErrorIs(t, rs.BindMessage(ctx, store.ID{}, "r"), store.ErrInvalid)
	assert.ErrorIs(t, rs.RecordDi01(ctx, "r", "0363", store.ID{}), store.ErrInvalid)
	_, _, err = rs.Di01(ctx, "")
	assert.ErrorIs(t, err, store.ErrInvalid)
}
