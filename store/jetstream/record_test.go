package jetstream

import (
	"crypto/sha256"
	"encoding/base64"
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
		{"bad traceerId", []byte(`{"soort":"WMO315","sha256":"` + base64.StdEncoding.EncodeToString(sum[:]) +
			`","corr":{"traceer":"x","conversatie":"0b8e9d2c-1a2b-4c3d-8e4f-5a6b7c8d9e0f"}}`), false},
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

// TestMetaCorrelation: a record keeps its correlation, and one written
// before records had correlations reads without.
func TestMetaCorrelation(t *testing.T) {
	sum := sha256.Sum256([]byte("x"))
	c := store.Correlation{Traceer: store.UUID{1}, Conversatie: store.UUID{2}, AlsAntwoordOp: store.UUID{3}, ReferentieID: "ref"}
	rec, err := decodeMeta(encode(metaRec{Soort: "WMO315", SHA256: sum[:], Size: 1, Chunks: 1, Correlation: correlationRecOf(&c)}))
	require.NoError(t, err)
	assert.Equal(t, &c, rec.Correlation.correlation())
	old := `{"soort":"WMO315","from":"1","to":"2","ident":"I","received":1,"stored":1,"size":1,"sha256":"` +
		base64.StdEncoding.EncodeToString(sum[:]) + `","conv":"01JDX4ZK9Q8R2M3N4P5Q6R7S8T","chunks":1}`
	rec, err = decodeMeta([]byte(old))
	require.NoError(t, err)
	assert.Nil(t, rec.Correlation)
	var e entryRec
	require.NoError(t, decode([]byte(`{"deliveries":1,"received":1,"size":1,"soort":"WMO315","from":"1"}`), &e, "entry"))
	assert.Nil(t, e.SHA256, "an entry written before entries copied the record")
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
	f.Add(encode(metaRec{SHA256: sum[:], Correlation: &correlationRec{Traceer: store.UUID{1}, Conversatie: store.UUID{2}}}))
	f.Add(encode(corrRec{ID: store.ID{1}}))
	f.Add(encode(eventRec{State: store.StateListed}))
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
		check(decode(b, &corrRec{}, "correlation index"))
		_, _ = idFromSubject(string(b))
	})
}
