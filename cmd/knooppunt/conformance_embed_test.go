package main

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/node"
	"github.com/knooppunt/knooppunt/store/pebble"
)

// TestConformanceRunEmbedded: without DIR the suite built into the binary
// runs, from any working directory.
func TestConformanceRunEmbedded(t *testing.T) {
	t.Chdir(t.TempDir())
	code, out, errs := conformanceRun(t, "run", "--run", "^(happy-wmo301|route-spoofing)$")
	require.Equal(t, 0, code, "stdout: %s\nstderr: %s", out, errs)
	assert.Equal(t, "2 passed, 0 failed", lastLine(out))
}

// TestConformanceRunTargetNamedParties: against a target the run acts only
// as the parties given a token and skips the cases that need another;
// --dev-parties lets a target started with serve --dev be used as is.
func TestConformanceRunTargetNamedParties(t *testing.T) {
	n, err := node.Start(context.Background(), node.Config{Dev: true, Addr: "127.0.0.1:0", Store: pebble.Config{Dir: t.TempDir()}})
	require.NoError(t, err)
	defer n.Close()

	code, out, errs := conformanceRun(t, "run", "--target", n.URL(), "--token", "0384=dev-0384", "--run", "^(happy-wmo301|route-spoofing)$")
	require.Equal(t, 0, code, "stdout: %s\nstderr: %s", out, errs)
	assert.Equal(t, "0 passed, 0 failed, 2 skipped", lastLine(out))
	assert.Contains(t, out, "SKIP happy-wmo301: acts as or writes to party 42420001, which has no token")
	assert.Contains(t, out, "SKIP route-spoofing: acts as or writes to party 0363, which has no token")

	code, out, errs = conformanceRun(t, "run", "--target", n.URL(), "--dev-parties", "--run", "^(happy-wmo301|route-spoofing)$")
	require.Equal(t, 0, code, "stdout: %s\nstderr: %s", out, errs)
	assert.Equal(t, "2 passed, 0 failed", lastLine(out))
}
