package gateway

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// Why a TLS handshake failed: the values of the reason label of
// knooppunt_tls_handshake_failures_total and of the log line. A fixed set,
// so the label stays bounded whatever a client sends.
const (
	tlsUnknownCA      = "unknown-ca"      // the client certificate chains to no trusted client CA
	tlsExpired        = "expired"         // the client certificate has expired or is not yet valid
	tlsNoCertificate  = "no-certificate"  // no client certificate where one is required
	tlsBadCertificate = "bad-certificate" // another fault of the client certificate: key usage, encoding, signature
	tlsClientRefused  = "client-refused"  // the client ended the handshake with an alert, e.g. it does not trust the switch's certificate
	tlsProtocol       = "protocol"        // no common version, cipher suite or application protocol, or a malformed handshake
	tlsNotTLS         = "not-tls"         // the client does not speak TLS, e.g. plain HTTP to the TLS port
	tlsTimeout        = "timeout"         // the handshake did not finish within the header timeout
	tlsClosed         = "closed"          // the connection closed before the handshake ended, e.g. a TCP health check
	tlsOther          = "other"
)

// handshakeReasons lists every reason, for the counter's series.
var handshakeReasons = []string{
	tlsUnknownCA, tlsExpired, tlsNoCertificate, tlsBadCertificate, tlsClientRefused,
	tlsProtocol, tlsNotTLS, tlsTimeout, tlsClosed, tlsOther,
}

// handshakeLogRate bounds the log lines about failed handshakes: at most
// this many per second, in bursts of as many, so a flood of bad handshakes
// cannot flood the log. The counter counts every failure.
const handshakeLogRate = 10

// handshakeLog counts and logs the TLS handshakes the switch's listeners
// fail (the API's and every Door's).
// Its connState is the http.Server's ConnState hook, called from every
// connection's goroutine; it is safe for concurrent use.
type handshakeLog struct {
	log      zerolog.Logger
	failures *prometheus.CounterVec // reason
	now      func() time.Time

	mu struct {
		sync.Mutex
		tokens     float64   // log lines that may be written now
		last       time.Time // when tokens was last topped up
		suppressed int       // failures not logged since the last line
	}
}

func newHandshakeLog(log zerolog.Logger, failures *prometheus.CounterVec, now func() time.Time) *handshakeLog {
	return &handshakeLog{log: log, failures: failures, now: now}
}

// connState notes a TLS connection that closes without a completed
// handshake. net/http runs the handshake first thing on a connection and
// closes it when the handshake fails, so such a connection is a failed
// handshake; Handshake then returns the stored error without any I/O (the
// connection is closed by now in any case).
func (h *handshakeLog) connState(c net.Conn, state http.ConnState) {
	if state != http.StateClosed {
		return
	}
	tc, ok := c.(*tls.Conn)
	if !ok || tc.ConnectionState().HandshakeComplete {
		return
	}
	h.failed(c.RemoteAddr(), handshakeReason(tc.Handshake()))
}

// failed counts one failed handshake and logs it, within the rate bound:
// the remote address and the reason only, never the error's text, which
// can name certificate subjects. A connection closed before the handshake
// ended is logged at debug level: load balancers' TCP health checks and
// port scans do that all day.
func (h *handshakeLog) failed(remote net.Addr, reason string) {
	h.failures.WithLabelValues(reason).Inc()
	level := zerolog.WarnLevel
	if reason == tlsClosed {
		level = zerolog.DebugLevel
	}
	ev := h.log.WithLevel(level)
	if ev == nil {
		return // a line that would not be written spends nothing of the bound
	}
	suppressed, ok := h.allow()
	if !ok {
		ev.Discard()
		return
	}
	addr := ""
	if remote != nil {
		addr = remote.String()
	}
	ev = ev.Str("remote", addr).Str("reason", reason)
	if suppressed > 0 {
		ev = ev.Int("suppressed", suppressed)
	}
	ev.Msg("TLS handshake failed")
}

// allow takes one log line from the token bucket. When it may be written,
// it returns how many failures went unlogged since the previous line.
func (h *handshakeLog) allow() (suppressed int, ok bool) {
	now := h.now()
	h.mu.Lock()
	defer h.mu.Unlock()
	if elapsed := now.Sub(h.mu.last); elapsed > 0 {
		h.mu.tokens = min(handshakeLogRate, h.mu.tokens+elapsed.Seconds()*handshakeLogRate)
		h.mu.last = now
	}
	if h.mu.tokens < 1 {
		h.mu.suppressed++
		return 0, false
	}
	h.mu.tokens--
	suppressed, h.mu.suppressed = h.mu.suppressed, 0
	return suppressed, true
}

// handshakeReason classifies the error of a failed server handshake. The
// certificate and transport errors have types; the rest of crypto/tls's
// refusals are plain errors, told apart by their stable text.
func handshakeReason(err error) string {
	if err == nil {
		return tlsOther
	}
	if re, ok := errors.AsType[tls.RecordHeaderError](err); ok {
		// Conn is set only when the very first record is no TLS at all.
		if re.Conn != nil {
			return tlsNotTLS
		}
		return tlsProtocol
	}
	if _, ok := errors.AsType[x509.UnknownAuthorityError](err); ok {
		return tlsUnknownCA
	}
	if ce, ok := errors.AsType[x509.CertificateInvalidError](err); ok && ce.Reason == x509.Expired {
		return tlsExpired
	}
	if _, ok := errors.AsType[*tls.CertificateVerificationError](err); ok {
		return tlsBadCertificate
	}
	if oe, ok := errors.AsType[*net.OpError](err); ok {
		switch oe.Op {
		case "remote error": // an alert the client sent
			return tlsClientRefused
		case "local error": // an alert the switch sent for a message it could not accept
			return tlsProtocol
		}
	}
	if ne, ok := errors.AsType[net.Error](err); (ok && ne.Timeout()) || errors.Is(err, os.ErrDeadlineExceeded) {
		return tlsTimeout
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.ECONNRESET) {
		return tlsClosed
	}
	msg := err.Error()
	switch {
	case msg == "tls: client didn't provide a certificate":
		return tlsNoCertificate
	case strings.Contains(msg, "client certificate") || strings.Contains(msg, "client sent certificate"):
		return tlsBadCertificate
	case strings.HasPrefix(msg, "tls: internal error"):
		return tlsOther
	case strings.HasPrefix(msg, "tls: "):
		return tlsProtocol
	}
	return tlsOther
}
