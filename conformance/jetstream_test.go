package conformance

import (
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/node"
	"github.com/knooppunt/knooppunt/store/jetstream/natstest"
)

// TestSuiteJetStream runs the whole suite against a switch on the
// JetStream store (an embedded single NATS server, sync_interval: always)
// with the same features and expectations as TestSuite, the StUF-GGk
// endpoint and the aanleveringen ledger included: no case is skipped.
func TestSuiteJetStream(t *testing.T) {
	cases, err := Load("testdata")
	require.NoError(t, err)
	target, soap := startJetStreamSwitch(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rep, err := Run(ctx, Config{Target: target, SOAPTarget: soap, Lease: testLease, Features: switchFeatures}, cases)
	require.NoError(t, err)
	passed := 0
	for _, res := range rep.Results {
		switch res.Outcome {
		case Fail:
			t.Errorf("%s: %s\n\tseen: %s", res.Where(), res.Message, res.Seen)
		case Skip:
			t.Errorf("case %s skipped on JetStream though the switch has every feature: %s", res.Case.Name, res.Message)
		case Pass:
			passed++
		}
	}
	require.NotZero(t, passed, "no case ran")
	t.Logf("%s in %s", rep.Summary(), rep.Duration.Round(time.Millisecond))
}

// startJetStreamSwitch runs startSwitch's switch on an embedded NATS
// server instead of Pebble. A JetStream node has no ledger secret of its
// own (its nodes must share one), so it gets a file of random bytes, as
// serve --ledger-secret would.
func startJetStreamSwitch(t *testing.T) (string, string) {
	t.Helper()
	srv := natstest.Start(t)
	secret := make([]byte, node.MinLedgerSecret)
	_, err := rand.Read(secret)
	require.NoError(t, err)
	file := filepath.Join(t.TempDir(), "ledger.secret")
	require.NoError(t, os.WriteFile(file, secret, 0o600))
	return startSwitch(t, func(cfg *node.Config) {
		cfg.StoreURL = srv.ClientURL() + "?replicas=1"
		cfg.Security.LedgerSecretFile = file
	})
}
