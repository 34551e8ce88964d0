package conformance

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/node"
	"github.com/knooppunt/knooppunt/store"
	"github.com/knooppunt/knooppunt/store/pebble"
)

// testLease is the in-process switch's visibility timeout.
const testLease = time.Second

// startSwitch runs a fresh in-process switch — the one `knooppunt serve
// --dev` runs, on a temporary data directory with a short lease and the
// limits the suite states (SwitchLimits), with the StUF-GGk SOAP endpoint
// and gemeente SignatureParty required to sign — and returns its base URL
// and its SOAP URL.
func startSwitch(t *testing.T) (string, string) {
	t.Helper()
	trust, err := SignatureTrust()
	require.NoError(t, err)
	n, err := node.Start(context.Background(), node.Config{
		Dev: true, Addr: "127.0.0.1:0",
		Store:    pebble.Config{Dir: t.TempDir(), Policy: store.Policy{VisibilityTimeout: testLease}},
		StUF:     node.StUFConfig{Addr: "127.0.0.1:0", Trust: trust},
		Security: node.SecurityConfig{Limits: SwitchLimits(DefaultParallel)},
	})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, n.Shutdown(ctx))
	})
	return n.URL(), n.StUFURL()
}
