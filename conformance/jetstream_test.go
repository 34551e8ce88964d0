package conformance

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/node"
	"github.com/knooppunt/knooppunt/store"
	"github.com/knooppunt/knooppunt/store/jetstream/natstest"
	"github.com/knooppunt/knooppunt/store/pebble"
)

// TestSuiteJetStream runs the whole suite against a switch on the
// JetStream store (an embedded single NATS server, sync_interval: always)
// with the same expectations as TestSuite, the StUF-GGk endpoint
// included: the only cases skipped are those TestSuite skips too
// (FeatureRetour, which neither run offers).
func TestSuiteJetStream(t *testing.T) {
	cases, err := Load("testdata")
	require.NoError(t, err)
	target, soap := startJetStreamSwitch(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rep, err := Run(ctx, Config{Target: target, SOAPTarget: soap, Lease: testLease, Features: []string{FeatureSignature}}, cases)
	require.NoError(t, err)
	passed := 0
	for _, res := range rep.Results {
		switch res.Outcome {
		case Fail:
			t.Errorf("%s: %s\n\tseen: %s", res.Where(), res.Message, res.Seen)
		case Skip:
			require.NotEmpty(t, res.Message, "case %s skipped without a reason", res.Case.Name)
			assert.True(t, requires(res.Case, FeatureRetour),
				"case %s skipped on JetStream though TestSuite runs it: %s", res.Case.Name, res.Message)
		case Pass:
			passed++
		}
	}
	require.NotZero(t, passed, "no case ran")
	t.Logf("%s in %s", rep.Summary(), rep.Duration.Round(time.Millisecond))
}

// requires reports whether c requires feature f.
func requires(c *Case, f string) bool {
	for _, r := range c.Requires {
		if r == f {
			return true
		}
	}
	return false
}

// startJetStreamSwitch runs a fresh in-process dev switch on an embedded
// NATS server, with the suite's short lease and limits and the StUF-GGk
// endpoint, and returns the base URLs of its API and of that endpoint.
func startJetStreamSwitch(t *testing.T) (string, string) {
	t.Helper()
	srv := natstest.Start(t)
	trust, err := SignatureTrust()
	require.NoError(t, err)
	n, err := node.Start(context.Background(), node.Config{
		Dev: true, Addr: "127.0.0.1:0",
		StoreURL: srv.ClientURL() + "?replicas=1",
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
