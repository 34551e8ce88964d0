package pebble

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/store"
)

func TestIDGenStrictlyIncreases(t *testing.T) {
	g := idGen{rand: func(b []byte) {
		for i := range b {
			b[i] = 0xff
		}
	}}
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	steps := []time.Duration{0, 0, 0, time.Millisecond, -time.Hour, 0, 2 * time.Millisecond, time.Hour}
	var prev store.ID
	for i, d := range steps {
		now = now.Add(d)
		id := g.next(now)
		assert.True(t, less(prev, id), "step %d: %s not above %s", i, id, prev)
		prev = id
	}
	assert.Equal(t, now.Truncate(time.Millisecond), prev.Time())
}

func TestRecordsRoundTrip(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 123, time.UTC)
	m := recordMeta{Soort: "WMO301", Sender: "0363", Recipient: "12345678", Identificatie: "ID-1",
		Received: now, Validated: now.Add(time.Millisecond), Stored: now.Add(2 * time.Millisecond),
		Size: 4096, SHA256: [32]byte{1, 2, 3}, Conversation: store.ID{9}}
	got, err := decodeMeta(m.encode())
	require.NoError(t, err)
	assert.Equal(t, m, got)

	e := recordEntry{VisibleAt: now.Add(time.Minute), Deliveries: 3, Received: now, Size: 4096,
		Soort: "WMO301", Sender: "0363", Recipient: "12345678"}
	ge, err := decodeEntry(e.encode(true), true)
	require.NoError(t, err)
	assert.Equal(t, e, ge)
	e.Recipient = ""
	e.VisibleAt = time.Time{}
	ge, err = decodeEntry(e.encode(false), false)
	require.NoError(t, err)
	assert.Equal(t, e, ge)
	_, err = decodeEntry(e.encode(false), true)
	assert.ErrorIs(t, err, store.ErrCorrupt, "a mailbox entry is not a quarantine entry")

	for _, bad := range [][]byte{nil, {}, {2}, m.encode()[:10], append(m.encode(), 0)} {
		_, err := decodeMeta(bad)
		assert.ErrorIs(t, err, store.ErrCorrupt)
	}
}

// FuzzDecodeRecords: the value decoders never panic on arbitrary bytes
// (a damaged data directory), and what they accept re-encodes to a value
// that decodes the same.
func FuzzDecodeRecords(f *testing.F) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	m := recordMeta{Soort: "JW315", Sender: "12345678", Recipient: "0363", Identificatie: "X", Received: now, Size: 10}
	e := recordEntry{VisibleAt: now, Deliveries: 1, Received: now, Size: 10, Soort: "JW315", Sender: "1", Recipient: "2"}
	f.Add(m.encode())
	f.Add(e.encode(true))
	f.Add(e.encode(false))
	f.Add(encodeDedup(store.ID{1}, [32]byte{2}))
	f.Add([]byte{byte(store.StateListed)})
	f.Fuzz(func(t *testing.T, b []byte) {
		if r, err := decodeMeta(b); err == nil {
			r2, err := decodeMeta(r.encode())
			require.NoError(t, err)
			require.Equal(t, r, r2)
		}
		for _, withRecipient := range []bool{false, true} {
			if r, err := decodeEntry(b, withRecipient); err == nil {
				r2, err := decodeEntry(r.encode(withRecipient), withRecipient)
				require.NoError(t, err)
				require.Equal(t, r.Deliveries, r2.Deliveries)
				require.Equal(t, r.Soort, r2.Soort)
				require.Equal(t, r.Recipient, r2.Recipient)
			}
		}
		if len(b) >= 12 {
			_, _ = decodeEvent(b[:12], b[12:])
		}
		_, _, _ = decodeDedup(b)
		_, _ = decodeCounters(b)
	})
}

// TestIDsAreUUIDv7: every id handed out has the version and variant of a
// UUIDv7, across new milliseconds, counting on within one, a clock that
// went back, a full counter and an id of the older layout.
func TestIDsAreUUIDv7(t *testing.T) {
	isV7 := func(id store.ID) bool { return id[6]>>4 == 7 && id[8]>>6 == 2 }
	ones := func(b []byte) {
		for i := range b {
			b[i] = 0xff
		}
	}
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	last := store.ID{}
	for i, d := range []time.Duration{0, 0, time.Millisecond, -time.Hour, 0} {
		now = now.Add(d)
		id := store.NextID(last, now, ones)
		assert.True(t, isV7(id), "step %d: %x", i, id)
		assert.True(t, less(last, id), "step %d", i)
		last = id
	}

	full := last
	full[6], full[7] = 0x7f, 0xff
	for i := 8; i < 16; i++ {
		full[i] = 0xff
	}
	next := store.NextID(full, full.Time(), ones)
	assert.True(t, isV7(next))
	assert.True(t, less(full, next), "a full counter moves to the next millisecond")
	assert.Equal(t, full.Time().Add(time.Millisecond), next.Time())

	older := store.ID{0x01, 0x8f, 0, 0, 0, 0, 0x7e, 0xff, 0xff}
	next = store.NextID(older, older.Time(), ones)
	assert.True(t, isV7(next))
	assert.True(t, less(older, next), "an id of the older layout is followed by a larger one")

	u := store.IDUUID(next).String()
	assert.Equal(t, byte('7'), u[14], "version 7 in %s", u)
	assert.Contains(t, "89ab", string(u[19]), "variant in %s", u)
}
