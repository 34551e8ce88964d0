package jetstream

import (
	"crypto/sha256"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/store"
)

func TestDecodeMeta(t *testing.T) {
	sum := sha256.Sum256([]byte("x"))
	good := encode(metaRec{Soort: "WMO315", Sender: "1", Recipient: "2", Identificatie: "I", Size: 1, SHA256: sum[:], Chunks: 1})
	cases := []struct {
		name string
		in   []byte
		ok   bool
	}{
		{"good", good, true},
		{"not json", []byte("{"), false},
		{"short checksum", encode(metaRec{SHA256: sum[:5], Size: 1, Chunks: 1}), false},
		{"negative size", encode(metaRec{SHA256: sum[:], Size: -1}), false},
		{"too many chunks", encode(metaRec{SHA256: sum[:], Size: 1, Chunks: 1 << 30}), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec, err := decodeMeta(tc.in)
			if tc.ok {
				require.NoError(t, err)
				assert.Equal(t, "WMO315", rec.Soort)
				return
			}
			assert.ErrorIs(t, err, store.ErrCorrupt)
		})
	}
}

func TestPartyToken(t *testing.T) {
	assert.Equal(t, "0363", partyToken("0363"))
	assert.Equal(t, "_2e3e", partyToken(".>"), "subject syntax is hex-encoded")
	assert.NotEqual(t, partyToken("_30"), partyToken("0"), "no collision with encoded forms")
}

// FuzzDecode feeds stream values to every decoder: stored data is not
// trusted more than any other input, so nothing may panic, and every
// failure is ErrCorrupt.
func FuzzDecode(f *testing.F) {
	sum := sha256.Sum256(nil)
	f.Add(encode(metaRec{SHA256: sum[:]}))
	f.Add(encode(entryRec{Deliveries: 2}))
	f.Add(encode(eventRec{State: store.StateFetched}))
	f.Add([]byte(`{"id":"01JDX4ZK9Q8R2M3N4P5Q6R7S8T","sha256":"AAAA"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		check := func(err error) {
			if err != nil && !errors.Is(err, store.ErrCorrupt) {
				t.Fatalf("error without ErrCorrupt: %v", err)
			}
		}
		_, err := decodeMeta(b)
		check(err)
		check(decode(b, &entryRec{}, "entry"))
		check(decode(b, &eventRec{}, "event"))
		check(decode(b, &dedupRec{}, "dedup"))
		check(decode(b, &confirmRec{}, "confirmation"))
		_, _ = idFromSubject(string(b))
	})
}
