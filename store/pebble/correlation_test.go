package pebble

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/store"
)

// TestCorrelatedRecordRoundTrip: a message record with a correlation reads
// back whole, one without keeps the first version's bytes, and a record
// cut short anywhere is corrupt, never a panic.
func TestCorrelatedRecordRoundTrip(t *testing.T) {
	base := recordMeta{Soort: "WMO301", Sender: "0384", Recipient: "42420001", Identificatie: "X1",
		Received: time.Unix(1, 0).UTC(), Stored: time.Unix(2, 0).UTC(), Size: 9, SHA256: [32]byte{4}, Conversation: store.ID{5}}
	plain := base.encode()
	assert.Equal(t, byte(recordVersion), plain[0], "a record without a correlation is written as before")
	got, err := decodeMeta(plain)
	require.NoError(t, err)
	assert.Nil(t, got.Correlation)

	c := store.Correlation{Traceer: store.UUID{1}, Conversatie: store.UUID{2}, AlsAntwoordOp: store.UUID{3}, ReferentieID: "ref",
		Verwerkingscontext: []byte(`[{"sleutel":"k","waarde":["v"]}]`)}
	with := base
	with.Correlation = &c
	b := with.encode()
	got, err = decodeMeta(b)
	require.NoError(t, err)
	assert.Equal(t, with, got)
	for n := range len(b) {
		_, err := decodeMeta(b[:n])
		assert.ErrorIs(t, err, store.ErrCorrupt, "cut at %d", n)
	}
	for _, n := range []int{0, 15, 17} {
		_, err = decodeCorrelationID(make([]byte, n))
		assert.ErrorIs(t, err, store.ErrCorrupt, "%d bytes", n)
	}
}
