package node

import (
	"bytes"
	"context"
	"encoding/binary"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/samenloop"
	"github.com/knooppunt/knooppunt/sample"
	"github.com/knooppunt/knooppunt/store"
	"github.com/knooppunt/knooppunt/store/pebble"
)

// TestSamenloopStateSealed: with encryption at rest on, samenloop.gob
// reveals no BSN (neither as text nor as the number the state holds) and
// a restart reads it back under the same key file.
func TestSamenloopStateSealed(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "data.keys")
	_, err := store.AddKey(keyFile, time.Now())
	require.NoError(t, err)
	cfg := Config{Dev: true, Addr: "127.0.0.1:0",
		Store:    pebble.Config{Dir: filepath.Join(dir, "data")},
		Insight:  InsightConfig{Enabled: true},
		Security: SecurityConfig{KeyFile: keyFile},
		Logger:   zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)}
	n, err := Start(context.Background(), cfg)
	require.NoError(t, err)
	defer n.Close()

	g := sample.New(43)
	s, _ := bericht.Lookup("WMO301")
	m, err := g.Heen(s, sample.Options{Afzender: "0363", Ontvanger: "12345678", Products: 1})
	require.NoError(t, err)
	code, body := call(t, "POST", n.URL()+"/v1/berichten", "dev-0363", "application/xml", string(m.XML))
	require.Equal(t, http.StatusAccepted, code, string(body))
	bsn := string(bsnRe.FindSubmatch(m.XML)[1])
	code, body = call(t, "POST", n.URL()+"/v1/samenloop/wlz-register", "dev-operator", "text/csv",
		samenloop.RegisterHeader+"\n"+bsn+",ja,2000-01-01,2000-01-01,\n")
	require.Equal(t, 200, code, string(body))
	require.NoError(t, n.Shutdown(context.Background()))

	raw, err := os.ReadFile(filepath.Join(dir, "data", productsDir, "samenloop.gob"))
	require.NoError(t, err)
	num, err := strconv.ParseUint(bsn, 10, 32)
	require.NoError(t, err)
	assert.False(t, bytes.Contains(raw, []byte(bsn)), "the BSN as text")
	assert.False(t, bytes.Contains(raw, binary.BigEndian.AppendUint32(nil, uint32(num))), "the BSN as the state's number")

	n2, err := Start(context.Background(), cfg)
	require.NoError(t, err)
	defer n2.Close()
	sum, err := n2.Samenloop().Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 1, sum.Register, "the register copy is read back under the key file")
	require.NoError(t, n2.Shutdown(context.Background()))

	cfg.Security = SecurityConfig{}
	_, err = Start(context.Background(), cfg)
	assert.ErrorIs(t, err, samenloop.ErrState, "without the keys the sealed state is refused, not replaced")
}
