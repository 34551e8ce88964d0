package store

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestUUIDRoundTrip(t *testing.T) {
	const s = "6f1c7e0a-3b1d-4c2e-9f00-0123456789ab"
	u, err := ParseUUID(s)
	require.NoError(t, err)
	assert.Equal(t, UUID{0x6f, 0x1c, 0x7e, 0x0a, 0x3b, 0x1d, 0x4c, 0x2e, 0x9f, 0x00, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab}, u)
	assert.Equal(t, s, u.String())
	upper, err := ParseUUID("6F1C7E0A-3B1D-4C2E-9F00-0123456789AB")
	require.NoError(t, err)
	assert.Equal(t, u, upper, "either case")
	assert.False(t, u.IsZero())

	zero, err := ParseUUID("00000000-0000-0000-0000-000000000000")
	require.NoError(t, err)
	assert.True(t, zero.IsZero())
	assert.Equal(t, "00000000-0000-0000-0000-000000000000", UUID{}.String())

	id := ID{1, 2, 3}
	back, err := ParseUUID(IDUUID(id).String())
	require.NoError(t, err)
	assert.Equal(t, id, ID(back))
}

func TestParseUUIDRejects(t *testing.T) {
	for _, s := range []string{
		"",
		"6f1c7e0a3b1d4c2e9f000123456789ab",         // no hyphens
		"6f1c7e0a-3b1d-4c2e-9f00-0123456789a",      // short
		"6f1c7e0a-3b1d-4c2e-9f00-0123456789abc",    // long
		"{6f1c7e0a-3b1d-4c2e-9f00-0123456789ab}",   // braces
		"6f1c7e0a-3b1d-4c2e-9f00_0123456789ab",     // wrong separator
		"6f1c7e0a-3b1d-4c2e-9f0-00123456789ab",     // hyphen misplaced
		"6f1c7e0g-3b1d-4c2e-9f00-0123456789ab",     // not hex
		"urn:uuid:6f1c7e0a-3b1d-4c2e-9f00-0123456", // urn form
	} {
		_, err := ParseUUID(s)
		assert.ErrorIs(t, err, ErrInvalid, "%q", s)
	}
}
