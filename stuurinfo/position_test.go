package stuurinfo

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRecordSkipsWhatItHolds: an observation from a Source at or before
// the aggregates' position is not counted again, the position is saved
// with them, and observations from a Tap (Seq 0) are always counted.
func TestRecordSkipsWhatItHolds(t *testing.T) {
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	obs := func(seq uint64) *Observation {
		return &Observation{Seq: seq, Soort: "WMO305", Sender: "42420001", Recipient: "0363", Received: at}
	}
	count := func(a *Aggregates) (n int64) {
		for _, r := range a.Rows(Query{Granularity: Month}) {
			n += r.Berichten
		}
		return n
	}
	a := NewAggregates(time.UTC)
	a.Record(obs(4))
	a.Record(obs(4))
	a.Record(obs(2))
	assert.Equal(t, int64(1), count(a))
	assert.Equal(t, uint64(4), a.Position())
	a.Record(obs(0))
	a.Record(obs(0))
	assert.Equal(t, int64(3), count(a), "a tap's observations carry no position")
	assert.Equal(t, uint64(4), a.Position())

	path := t.TempDir() + "/stuurinfo.gob"
	require.NoError(t, a.SaveFile(path))
	b, err := LoadFile(path, time.UTC)
	require.NoError(t, err)
	assert.Equal(t, uint64(4), b.Position())
	b.Record(obs(4))
	b.Record(obs(5))
	assert.Equal(t, int64(4), count(b), "only the one after the position")
}
