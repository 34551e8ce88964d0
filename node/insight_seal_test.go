package node

import (
	"bufio"
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/insight"
	"github.com/knooppunt/knooppunt/samenloop"
	"github.com/knooppunt/knooppunt/sample"
	"github.com/knooppunt/knooppunt/store"
	"github.com/knooppunt/knooppunt/store/pebble"
)

// sealedConfig is a dev node's config with the products on and
// encryption at rest under a new key file in a directory of its own.
func sealedConfig(t *testing.T) (cfg Config, dir, keyFile string) {
	t.Helper()
	dir = t.TempDir()
	keyFile = filepath.Join(dir, "data.keys")
	_, err := store.AddKey(keyFile, time.Now())
	require.NoError(t, err)
	return Config{Dev: true, Addr: "127.0.0.1:0",
		Store:    pebble.Config{Dir: filepath.Join(dir, "data")},
		Insight:  InsightConfig{Enabled: true},
		Security: SecurityConfig{KeyFile: keyFile},
		Logger:   zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)}, dir, keyFile
}

// TestSamenloopStateSealed: with encryption at rest on, samenloop.gob
// reveals no BSN (neither as text nor as the number the state holds) and
// a restart reads it back under the same key file.
func TestSamenloopStateSealed(t *testing.T) {
	cfg, dir, _ := sealedConfig(t)
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

	raw, err := os.ReadFile(filepath.Join(dir, "data", insight.ProductsDir, "samenloop.gob"))
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

// stateMagic starts a sealed samenloop state file (samenloop/snapshot.go).
var stateMagic = []byte{0, 'K', 'P', 'S', 'L', 1}

// TestSamenloopStateEarlierSealedForm: a samenloop state sealed in the
// form earlier builds wrote — key-id length, key id, 12-byte nonce,
// AES-256-GCM ciphertext and tag under "knooppunt samenloop state",
// without the keyring's magic — still opens after an upgrade, and the
// next save seals it in the keyring's form.
func TestSamenloopStateEarlierSealedForm(t *testing.T) {
	cfg, dir, keyFile := sealedConfig(t)
	n, err := Start(context.Background(), cfg)
	require.NoError(t, err)
	defer n.Close()
	code, body := call(t, "POST", n.URL()+"/v1/samenloop/wlz-register", "dev-operator", "text/csv",
		samenloop.RegisterHeader+"\n999999990,ja,2000-01-01,2000-01-01,\n")
	require.Equal(t, 200, code, string(body))
	require.NoError(t, n.Shutdown(context.Background()))

	// The state as this build sealed it, opened to its plaintext.
	file := filepath.Join(dir, "data", insight.ProductsDir, "samenloop.gob")
	raw, err := os.ReadFile(file)
	require.NoError(t, err)
	sealed, ok := bytes.CutPrefix(raw, stateMagic)
	require.True(t, ok, "a sealed state file")
	keys, err := store.LoadKeyring(keyFile)
	require.NoError(t, err)
	ad := []byte("knooppunt samenloop state")
	plain, err := keys.Open(sealed, ad)
	require.NoError(t, err)

	// The same plaintext sealed in the earlier form, under the key file's
	// active key read from the file itself.
	id := keys.Active()
	var key []byte
	lines, err := os.ReadFile(keyFile)
	require.NoError(t, err)
	sc := bufio.NewScanner(bytes.NewReader(lines))
	for sc.Scan() {
		if kid, b64, ok := strings.Cut(sc.Text(), " "); ok && kid == id {
			key, err = base64.StdEncoding.DecodeString(b64)
			require.NoError(t, err)
		}
	}
	require.Len(t, key, store.KeySize)
	block, err := aes.NewCipher(key)
	require.NoError(t, err)
	gcm, err := cipher.NewGCM(block)
	require.NoError(t, err)
	nonce := make([]byte, gcm.NonceSize())
	rand.Read(nonce)
	earlier := append(append(append(slices.Clone(stateMagic), byte(len(id))), id...), nonce...)
	earlier = gcm.Seal(earlier, nonce, plain, ad)
	require.NoError(t, os.WriteFile(file, earlier, 0o600))
	_, ok = store.SealedKey(earlier[len(stateMagic):])
	require.False(t, ok, "not the keyring's form")

	n2, err := Start(context.Background(), cfg)
	require.NoError(t, err, "the earlier form opens")
	defer n2.Close()
	sum, err := n2.Samenloop().Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 1, sum.Register, "the register copy is read from the earlier form")
	require.NoError(t, n2.Shutdown(context.Background()))

	raw, err = os.ReadFile(file)
	require.NoError(t, err)
	sealed, ok = bytes.CutPrefix(raw, stateMagic)
	require.True(t, ok)
	kid, ok := store.SealedKey(sealed)
	require.True(t, ok, "saved in the keyring's form")
	assert.Equal(t, id, kid)
	_, err = keys.Open(sealed, ad)
	assert.NoError(t, err)
}
