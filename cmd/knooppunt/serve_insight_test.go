package main

import (
	"bytes"
	"context"
	"net/http"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestServeInsight: the products are on by default (--help says so) and
// a --dev switch answers /v1/stuurinfo and /dashboard on its API for the
// operator and refuses an aanbieder, as the role table says.
func TestServeInsight(t *testing.T) {
	var out, errOut bytes.Buffer
	require.Equal(t, 0, runServe([]string{"--help"}, nil, &out, &errOut))
	assert.Regexp(t, `-insight\s+serve stuurinformatie.*\(default true\)`, out.String())
	assert.Contains(t, out.String(), "-samenloop-run-at")

	o := serveOptions{dev: true, addr: "127.0.0.1:0", data: t.TempDir(), logLevel: "warn", insight: true, samenloopRunAt: "03:00"}
	inst, err := startInstance(context.Background(), o, zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel))
	require.NoError(t, err)
	defer inst.Shutdown(context.Background())
	e := &e2e{t: t, inst: inst, url: inst.URL(), client: &http.Client{}}
	for _, path := range []string{"/v1/stuurinfo", "/dashboard"} {
		assert.Equal(t, http.StatusOK, e.do("GET", path, "operator", "", nil).status, path)
		r := e.do("GET", path, "42420001", "", nil)
		assert.Equal(t, http.StatusForbidden, r.status, path)
		assert.Equal(t, "role-forbidden", r.field(t, "code"), path)
	}
}
