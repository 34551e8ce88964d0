package conformance

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/node"
	"github.com/knooppunt/knooppunt/store"
)

// testLease is the in-process switch's visibility timeout.
const testLease = time.Second

// startSwitch runs a fresh in-process switch — the one `knooppunt serve
// --dev` runs, on a temporary data directory with a short lease — and
// returns its base URL.
func startSwitch(t *testing.T) string {
	t.Helper()
	n, err := node.Start(context.Background(), node.Config{
		Dev: true, Addr: "127.0.0.1:0",
		Store: store.Config{Dir: t.TempDir(), VisibilityTimeout: testLease},
	})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, n.Shutdown(ctx))
	})
	return n.URL()
}
