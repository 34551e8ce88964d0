package gateway_test

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"hash/crc32"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/gateway"
)

// zipEntry is one entry of a hand-built archive: Method and Flags as the
// header says, body stored raw when raw is set.
type zipEntry struct {
	name   string
	method uint16
	flags  uint16
	body   []byte
	raw    bool // write body as the entry's data as is (CreateRaw)
}

func zipEntries(t *testing.T, entries ...zipEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		fh := &zip.FileHeader{Name: e.name, Method: e.method, Flags: e.flags}
		if e.raw {
			fh.CRC32 = crc32.ChecksumIEEE(e.body)
			fh.CompressedSize64, fh.UncompressedSize64 = uint64(len(e.body)), uint64(len(e.body))
			w, err := zw.CreateRaw(fh)
			require.NoError(t, err)
			_, err = w.Write(e.body)
			require.NoError(t, err)
			continue
		}
		w, err := zw.CreateHeader(fh)
		require.NoError(t, err)
		_, err = w.Write(e.body)
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

// TestBatchRefusesUnreadableEntries: an encrypted entry, or one compressed
// with a method other than stored or deflate, gets a refusal of its own,
// and the other entries of the batch are stored as usual.
func TestBatchRefusesUnreadableEntries(t *testing.T) {
	h := newHarness(t)
	// The encrypted entry holds a valid message in the clear: only its
	// flag says encrypted, which the switch must not ignore.
	z := zipEntries(t,
		zipEntry{name: "a.xml", method: zip.Deflate, body: msg("WMO301", "0384", "42420001", "Z1")},
		zipEntry{name: "b.xml", method: zip.Deflate, flags: 0x1, body: msg("WMO301", "0384", "42420001", "Z2")},
		zipEntry{name: "c.xml", method: 12, body: []byte("BZh91AY&SY"), raw: true}, // bzip2
		zipEntry{name: "d.xml", method: zip.Store, body: msg("WMO301", "0384", "42420001", "Z3")},
		zipEntry{name: "e.xml", method: 99, flags: 0x1, body: []byte("AES"), raw: true}, // WinZip AES
		zipEntry{name: "f.xml", method: 14, body: []byte("LZMA"), raw: true},
	)
	r := h.do(http.MethodPost, "/v1/berichten/batch", "tok-0384", "application/zip", z)
	require.Equal(t, 200, r.status, string(r.body))
	var res gateway.BatchResult
	require.NoError(t, json.Unmarshal(r.body, &res))
	require.Len(t, res.Results, 6)
	want := []struct {
		name, result, code string
		status             int
	}{
		{"a.xml", "stored", "", 202},
		{"b.xml", "rejected", gateway.CodeZipEntryEncrypted, 400},
		{"c.xml", "rejected", gateway.CodeZipEntryMethod, 400},
		{"d.xml", "stored", "", 202},
		{"e.xml", "rejected", gateway.CodeZipEntryEncrypted, 400},
		{"f.xml", "rejected", gateway.CodeZipEntryMethod, 400},
	}
	for i, w := range want {
		got := res.Results[i]
		assert.Equal(t, w.name, got.Name, i)
		assert.Equal(t, w.result, got.Result, w.name)
		assert.Equal(t, w.code, got.Code, w.name)
		assert.Equal(t, w.status, got.Status, w.name)
		if w.code != "" {
			assert.NotEmpty(t, got.Message, w.name)
			assert.Empty(t, got.ID, w.name)
		}
	}
	assert.Equal(t, 2, res.Accepted)
	assert.Equal(t, 4, res.Rejected)

	r = h.do(http.MethodGet, "/v1/mailbox", "tok-42420001", "", nil)
	require.Equal(t, 200, r.status, string(r.body))
	assert.Len(t, r.json(t)["berichten"], 2, "the encrypted entry is not stored")
	assert.Equal(t, float64(2), counter(t, h, "knooppunt_gateway_berichten_total", gateway.CodeZipEntryEncrypted))
	assert.Equal(t, float64(2), counter(t, h, "knooppunt_gateway_berichten_total", gateway.CodeZipEntryMethod))
}
