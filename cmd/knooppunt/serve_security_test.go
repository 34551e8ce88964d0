package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/gateway"
	"github.com/knooppunt/knooppunt/node"
)

// TestServeSecurityFlags: the security flags reach node.SecurityConfig,
// contradictions are refused before anything opens, and --help explains
// them.
func TestServeSecurityFlags(t *testing.T) {
	refused := []struct {
		name string
		args []string
		want string
	}{
		{"plaintext with a key file", []string{"--dev", "--plaintext", "--key-file", "k"}, "contradict"},
		{"negative retention", []string{"--dev", "--audit-retention", "-1h"}, "--audit-retention"},
		{"retention not a duration", []string{"--dev", "--audit-retention", "5y"}, "audit-retention"},
		{"negative burst", []string{"--dev", "--rate-burst", "-5"}, "--rate-burst"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			require.Equal(t, 2, runServe(tt.args, nil, &out, &errOut))
			assert.Contains(t, errOut.String(), tt.want)
		})
	}

	var out, errOut bytes.Buffer
	require.Equal(t, 0, runServe([]string{"--help"}, nil, &out, &errOut))
	for _, flag := range []string{"-key-file", "-plaintext", "-audit-dir", "-audit-retention", "-rate-limit", "-rate-burst", "-max-concurrent", "knooppunt audit verify"} {
		assert.Contains(t, out.String(), flag)
	}

	o := serveOptions{keyFile: "/secrets/knooppunt.keys", auditDir: "/audit", auditRetention: 24 * time.Hour, plaintext: true,
		rateLimit: -1, rateBurst: 10, maxConcurrent: 4}
	assert.Equal(t, node.SecurityConfig{KeyFile: "/secrets/knooppunt.keys", Plaintext: true, AuditDir: "/audit", AuditRetention: 24 * time.Hour,
		Limits: gateway.Limits{Rate: -1, Burst: 10, Concurrent: 4}},
		o.nodeConfig(zerolog.Nop()).Security)
}
