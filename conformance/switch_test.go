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

// switchFeatures are the features of startSwitch's switch beyond the lease
// and the SOAP endpoint, which a run learns from its Config.
var switchFeatures = []string{FeatureSignature, FeatureRetour, FeatureAanleveringen}

// startSwitch runs a fresh in-process switch — the one `knooppunt
// conformance run` starts: `knooppunt serve --dev` answering rule breaches
// itself, on SwitchRegistry (gemeente AanleveringenParty checks its
// aanleveringen, with a ledger secret made in the data directory), on a
// temporary data directory with a short lease and the limits the suite
// states (SwitchLimits), with the StUF-GGk SOAP endpoint and gemeente
// SignatureParty required to sign — and returns its base URL and its SOAP
// URL. edit, if given, changes the configuration first.
func startSwitch(t *testing.T, edit ...func(*node.Config)) (string, string) {
	t.Helper()
	trust, err := SignatureTrust()
	require.NoError(t, err)
	reg, err := SwitchRegistry()
	require.NoError(t, err)
	cfg := node.Config{
		Dev: true, Addr: "127.0.0.1:0", AnswerRules: true, Registry: reg,
		Store:    pebble.Config{Dir: t.TempDir(), Policy: store.Policy{VisibilityTimeout: testLease}},
		StUF:     node.StUFConfig{Addr: "127.0.0.1:0", Trust: trust},
		Security: node.SecurityConfig{Limits: SwitchLimits(DefaultParallel)},
	}
	for _, e := range edit {
		e(&cfg)
	}
	n, err := node.Start(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, n.Shutdown(ctx))
	})
	return n.URL(), n.StUFURL()
}
