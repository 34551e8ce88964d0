package node

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/routing"
	"github.com/knooppunt/knooppunt/store/pebble"
)

// TestStartServeShutdown starts a dev node, checks it answers, shuts it
// down and closes it again: Close after Shutdown is a no-op.
func TestStartServeShutdown(t *testing.T) {
	n, err := Start(context.Background(), Config{
		Dev: true, Addr: "127.0.0.1:0",
		Store:  pebble.Config{Dir: t.TempDir()},
		Logger: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel),
	})
	require.NoError(t, err)
	resp, err := http.Get(n.URL() + "/readyz")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Error(t, n.Reload(), "the dev registry has no file to reload")
	require.NoError(t, n.Shutdown(context.Background()))
	require.NoError(t, n.Close())
	_, err = http.Get(n.URL() + "/readyz")
	require.Error(t, err, "nothing listens after shutdown")
}

// TestStartFailsCleanly: a registry file that does not parse stops the
// start before anything opens, and outside dev mode a registry is required.
func TestStartFailsCleanly(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "registry.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("parties: [{code: 12}]\nunknown_key: 1\n"), 0o600))
	_, err := Start(context.Background(), Config{RegistryFile: bad, Addr: "127.0.0.1:0", Store: pebble.Config{Dir: filepath.Join(dir, "data")}})
	require.Error(t, err)
	_, statErr := os.Stat(filepath.Join(dir, "data"))
	require.True(t, os.IsNotExist(statErr), "no store was created for a failed start")

	_, err = Start(context.Background(), Config{Addr: "127.0.0.1:0", Store: pebble.Config{Dir: filepath.Join(dir, "data")}})
	require.ErrorContains(t, err, "registry file")
}

// TestLoadRegistryGiven: a registry given in code is the one a node runs
// on, in place of the dev registry and with or without Dev; a registry
// file still comes first.
func TestLoadRegistryGiven(t *testing.T) {
	cfg := routing.DevConfig()
	cfg.Parties = append(cfg.Parties, routing.PartyConfig{Code: "0518", Role: routing.Gemeente, Name: "Gemeente 's-Gravenhage", CheckAanleveringen: true})
	reg, err := routing.New(cfg)
	require.NoError(t, err)
	for _, dev := range []bool{true, false} {
		got, err := LoadRegistry(Config{Dev: dev, Registry: reg})
		require.NoError(t, err)
		require.Same(t, reg, got, "dev %v", dev)
	}
	got, err := LoadRegistry(Config{Dev: true, RegistryFile: aanleveringenRegistry(t), Registry: reg})
	require.NoError(t, err)
	require.False(t, got.ChecksAanleveringen(), "the file's registry, where no gemeente checks")
}

func TestCheck(t *testing.T) {
	summary, err := Check(Config{Dev: true})
	require.NoError(t, err)
	require.Contains(t, summary, "28 berichtsoorten")
	_, err = Check(Config{Dev: true, TLSCertFile: "/nonexistent.crt", TLSKeyFile: "/nonexistent.key", ClientCAFile: "/nonexistent.ca"})
	require.ErrorContains(t, err, "loading TLS certificate")
}
