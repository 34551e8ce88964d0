package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/logtest"
)

// TestHandshakeLogIsRateBounded: a flood of failed handshakes writes at
// most handshakeLogRate lines at once and a line per tenth of a second
// after that, each saying how many failures went unlogged before it; the
// counter counts every failure. Lines the log level drops spend nothing.
func TestHandshakeLogIsRateBounded(t *testing.T) {
	logs := &logtest.Buffer{}
	failures := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "f"}, []string{"reason"})
	reg := prometheus.NewRegistry()
	reg.MustRegister(failures)
	now := time.Date(2026, 11, 28, 20, 0, 0, 0, time.UTC)
	h := newHandshakeLog(zerolog.New(logs).Level(zerolog.InfoLevel), failures, func() time.Time { return now })
	remote := &net.TCPAddr{IP: net.IPv4(192, 0, 2, 7), Port: 51234}

	for range 100 {
		h.failed(remote, tlsClosed) // debug: not written at info, no budget spent
	}
	for range 25 {
		h.failed(remote, tlsUnknownCA)
	}
	lines := logLines(t, logs)
	require.Len(t, lines, handshakeLogRate)
	for _, l := range lines {
		assert.Equal(t, map[string]any{"level": "warn", "remote": "192.0.2.7:51234", "reason": "unknown-ca", "message": "TLS handshake failed"}, l)
	}

	now = now.Add(100 * time.Millisecond) // one line's worth
	h.failed(remote, tlsExpired)
	h.failed(remote, tlsExpired)
	lines = logLines(t, logs)
	require.Len(t, lines, handshakeLogRate+1)
	assert.Equal(t, "expired", lines[handshakeLogRate]["reason"])
	assert.Equal(t, float64(15), lines[handshakeLogRate]["suppressed"], "the 15 unknown-ca failures not logged")

	now = now.Add(time.Hour) // the bucket refills to its burst, no more
	for range handshakeLogRate + 1 {
		h.failed(remote, tlsProtocol)
	}
	lines = logLines(t, logs)
	require.Len(t, lines, 2*handshakeLogRate+1)
	assert.Equal(t, float64(1), lines[handshakeLogRate+1]["suppressed"], "the second expired failure")
	_, has := lines[2*handshakeLogRate]["suppressed"]
	assert.False(t, has)

	mfs, err := reg.Gather()
	require.NoError(t, err)
	counts := map[string]float64{}
	for _, m := range mfs[0].GetMetric() {
		counts[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
	}
	assert.Equal(t, map[string]float64{tlsClosed: 100, tlsUnknownCA: 25, tlsExpired: 2, tlsProtocol: handshakeLogRate + 1}, counts,
		"every failure counted, logged or not")
}

func logLines(t *testing.T, logs *logtest.Buffer) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &m), l)
		lines = append(lines, m)
	}
	return lines
}

// TestHandshakeReason classifies the transport failures and the untyped
// refusals of crypto/tls that the TLS tests cannot provoke from a client.
func TestHandshakeReason(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}, tlsTimeout},
		{io.EOF, tlsClosed},
		{io.ErrUnexpectedEOF, tlsClosed},
		{&net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}, tlsClosed},
		{fmt.Errorf("reading: %w", net.ErrClosed), tlsClosed},
		{&net.OpError{Op: "local error", Err: errors.New("tls: error decoding message")}, tlsProtocol},
		{errors.New("tls: no cipher suite supported by both client and server; client offered: [a]"), tlsProtocol},
		{errors.New("tls: failed to parse client certificate: x509: malformed certificate"), tlsBadCertificate},
		{errors.New("tls: invalid signature by the client certificate: crypto/ecdsa: verification error"), tlsBadCertificate},
		{errors.New("tls: internal error: handshake should have had a result"), tlsOther},
		{errors.New("something else"), tlsOther},
		{nil, tlsOther},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, handshakeReason(tt.err), "%v", tt.err)
	}
}
