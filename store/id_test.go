package store

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseID(t *testing.T) {
	var id ID
	for i := range id {
		id[i] = byte(i*37 + 5)
	}
	canon := id.String()
	require.Len(t, canon, IDLen)
	cases := []struct {
		name string
		in   string
		want ID
		ok   bool
	}{
		{"canonical", canon, id, true},
		{"lower case", string(bytes.ToLower([]byte(canon))), id, true},
		{"zero", "00000000000000000000000000", ID{}, true},
		{"aliases O I L", "0000000000000000000000000O", ID{}, true},
		{"max", "7ZZZZZZZZZZZZZZZZZZZZZZZZZ", ID{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, true},
		{"overflow", "8ZZZZZZZZZZZZZZZZZZZZZZZZZ", ID{}, false},
		{"U is not crockford", "0000000000000000000000000U", ID{}, false},
		{"too short", canon[1:], ID{}, false},
		{"too long", canon + "0", ID{}, false},
		{"punctuation", "0000000000000000000000000-", ID{}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseID(tc.in)
			if !tc.ok {
				assert.ErrorIs(t, err, ErrInvalid)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
	one, err := ParseID("0000000000000000000000000L")
	require.NoError(t, err)
	assert.Equal(t, byte(1), one[15])
}

// FuzzParseID: ParseID never panics, and what it accepts prints back to a
// string that parses to the same id.
func FuzzParseID(f *testing.F) {
	f.Add("01JDX4ZK9Q8R2M3N4P5Q6R7S8T")
	f.Add("7ZZZZZZZZZZZZZZZZZZZZZZZZZ")
	f.Add("0000000000000000000000000u")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseID(s)
		if err != nil {
			return
		}
		again, err := ParseID(id.String())
		require.NoError(t, err)
		require.Equal(t, id, again)
	})
}
