package node

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/routing"
	"github.com/knooppunt/knooppunt/sample"
	"github.com/knooppunt/knooppunt/store/jetstream/natstest"
	"github.com/knooppunt/knooppunt/store/pebble"
)

// TestRegistryStoreSetting: the registry file's store setting selects the
// JetStream store when no StoreURL is given. A message posted to a node
// configured by the file alone is in the cluster: a second node on the
// same cluster lists it.
func TestRegistryStoreSetting(t *testing.T) {
	srv := natstest.Start(t)
	url := srv.ClientURL() + "?replicas=1"
	sum := func(tok string) string { s := sha256.Sum256([]byte(tok)); return hex.EncodeToString(s[:]) }
	file := filepath.Join(t.TempDir(), "registry.yaml")
	require.NoError(t, os.WriteFile(file, fmt.Appendf(nil, `tokens: true
store: %q
parties:
  - code: "0384"
    role: gemeente
    name: Gemeente A
    credentials: {token_sha256: [%q]}
  - code: "42420001"
    role: aanbieder
    name: Aanbieder B
    credentials: {token_sha256: [%q]}
`, url, sum("t-0384"), sum("t-42420001")), 0o600))
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
	n, err := Start(context.Background(), Config{
		RegistryFile: file, Addr: "127.0.0.1:0", Store: pebble.Config{Dir: t.TempDir()},
		Security: SecurityConfig{Plaintext: true}, Logger: log,
	})
	require.NoError(t, err)
	t.Cleanup(func() { n.Close() })
	assert.Equal(t, "jetstream", n.cfg.Backend())

	s, ok := bericht.Lookup("WMO301")
	require.True(t, ok)
	m, err := sample.New(4).Heen(s, sample.Options{Afzender: "0384", Ontvanger: "42420001"})
	require.NoError(t, err)
	code, body := call(t, http.MethodPost, n.URL()+"/v1/berichten", "t-0384", "application/xml", string(m.XML))
	require.Equal(t, http.StatusAccepted, code, string(body))
	var posted struct{ ID string }
	require.NoError(t, json.Unmarshal(body, &posted))

	other, err := Start(context.Background(), Config{Dev: true, Addr: "127.0.0.1:0", StoreURL: url,
		Store: pebble.Config{Dir: t.TempDir()}, Logger: log})
	require.NoError(t, err)
	t.Cleanup(func() { other.Close() })
	code, body = call(t, http.MethodGet, other.URL()+"/v1/mailbox?limit=10", "dev-42420001", "", "")
	require.Equal(t, http.StatusOK, code, string(body))
	var list struct{ Berichten []struct{ ID string } }
	require.NoError(t, json.Unmarshal(body, &list))
	require.Len(t, list.Berichten, 1)
	assert.Equal(t, posted.ID, list.Berichten[0].ID)
}

// TestStoreURLWinsOverRegistry: an explicit StoreURL (serve --store) is
// kept; the registry's setting only fills an empty one.
func TestStoreURLWinsOverRegistry(t *testing.T) {
	reg, err := routing.New(routing.Config{Store: "nats://file:4222", Parties: []routing.PartyConfig{
		{Code: "0384", Role: routing.Gemeente, Name: "G"}}})
	require.NoError(t, err)
	assert.Equal(t, "nats://flag:4222", Config{StoreURL: "nats://flag:4222"}.withRegistryStore(reg).StoreURL)
	assert.Equal(t, "nats://file:4222", Config{}.withRegistryStore(reg).StoreURL)
}

// TestStUFSettingsFromRegistry: the registry's stuf_addr fills an empty
// StUF.Addr, a flag wins, "off" runs none; push delivery is on as soon as
// the registry names a push endpoint, and off without one.
func TestStUFSettingsFromRegistry(t *testing.T) {
	reg, err := routing.New(routing.Config{StUFAddr: "0.0.0.0:8443", Parties: []routing.PartyConfig{
		{Code: "0384", Role: routing.Gemeente, Name: "G", Delivery: routing.DeliveryPush, PushURL: "https://g.example/stuf"},
		{Code: "42420001", Role: routing.Aanbieder, Name: "A"}}})
	require.NoError(t, err)
	c := Config{}.withRegistryStore(reg)
	assert.Equal(t, "0.0.0.0:8443", c.StUF.Addr)
	assert.True(t, c.StUF.Push, "a push endpoint in the registry turns push delivery on")
	assert.Equal(t, "127.0.0.1:9000", Config{StUF: StUFConfig{Addr: "127.0.0.1:9000"}}.withRegistryStore(reg).StUF.Addr)
	assert.Empty(t, Config{StUF: StUFConfig{Addr: "off"}}.withRegistryStore(reg).StUF.Addr)

	plain, err := routing.New(routing.Config{Parties: []routing.PartyConfig{{Code: "0384", Role: routing.Gemeente, Name: "G"}}})
	require.NoError(t, err)
	c = Config{}.withRegistryStore(plain)
	assert.False(t, c.StUF.Push)
	assert.Empty(t, c.StUF.Addr)
}
