package conformance

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestSuite runs the whole suite against a fresh switch: every case must
// pass or be skipped for a stated reason.
func TestSuite(t *testing.T) {
	cases, err := Load("testdata")
	require.NoError(t, err)
	target, soap := startSwitch(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rep, err := Run(ctx, Config{Target: target, SOAPTarget: soap, Lease: testLease, Features: switchFeatures}, cases)
	require.NoError(t, err)
	for _, res := range rep.Results {
		switch res.Outcome {
		case Fail:
			t.Errorf("%s: %s\n\tseen: %s", res.Where(), res.Message, res.Seen)
		case Skip:
			require.NotEmpty(t, res.Message, "case %s skipped without a reason", res.Case.Name)
		}
	}
	t.Logf("%s in %s", rep.Summary(), rep.Duration.Round(time.Millisecond))
}
