package conformance

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/node"
)

// aanleveringenCases are the suite's cases of the aanleveringen check.
func aanleveringenCases(t *testing.T) []*Case {
	t.Helper()
	all, err := Load("testdata")
	require.NoError(t, err)
	var cases []*Case
	for _, c := range all {
		if strings.HasPrefix(c.Name, "aanleveringen-") {
			assert.Equal(t, []string{FeatureAanleveringen}, c.Requires, "case %s", c.Name)
			cases = append(cases, c)
		}
	}
	// 305 and 307 of both standards: a line delivered twice, removed after
	// delivery, removed without it.
	require.Len(t, cases, 12)
	return cases
}

// TestAanleveringenCasesRepeatable runs the aanleveringen cases three
// times against one switch, as a vendor runs the suite again and again
// against one target: the ledger remembers every run's lines, and each run
// still passes, since its lines have ToewijzingNummers of their own. A run
// that does not declare the feature skips them, saying how to turn it on.
func TestAanleveringenCasesRepeatable(t *testing.T) {
	cases := aanleveringenCases(t)
	target, _ := startSwitch(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, prefix := range []string{"run01", "run02", "run03"} {
		rep, err := Run(ctx, Config{Target: target, Prefix: prefix, Features: []string{FeatureAanleveringen}}, cases)
		require.NoError(t, err)
		for _, res := range rep.Results {
			assert.Equal(t, Pass, res.Outcome, "run %s, %s: %s\n\tseen: %s", prefix, res.Where(), res.Message, res.Seen)
		}
	}

	rep, err := Run(ctx, Config{Target: target}, cases)
	require.NoError(t, err)
	assert.Equal(t, "0 passed, 0 failed, 12 skipped", rep.Summary())
	assert.Contains(t, rep.Results[0].Message, "--feature aanleveringen")
}

// TestAanleveringenCasesNeedTheCheck: against a switch that does not make
// the check (it answers no rules, so the registry's check_aanleveringen is
// not honoured), a run that declares the feature fails every case: the
// cases see the level-3 behaviour, not merely messages accepted.
func TestAanleveringenCasesNeedTheCheck(t *testing.T) {
	cases := aanleveringenCases(t)
	target, _ := startSwitch(t, func(cfg *node.Config) { cfg.AnswerRules = false })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := Run(ctx, Config{Target: target, Features: []string{FeatureAanleveringen}}, cases)
	require.NoError(t, err)
	for _, res := range rep.Results {
		assert.Equal(t, Fail, res.Outcome, "case %s", res.Case.Name)
		assert.Contains(t, res.Message, `want code "retour", got "stored"`, "case %s", res.Case.Name)
	}
}
