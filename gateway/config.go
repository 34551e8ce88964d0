package gateway

import (
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// Config configures a Server. The zero value of every field but the ports
// (Validator, Router, Store, Parties) has a usable default, given in its
// comment; New does not modify the caller's Config.
type Config struct {
	// Addr is the TCP address to listen on. Default "127.0.0.1:8080".
	Addr string
	// AdminAddr, if set, is a second plain-HTTP listener serving only
	// /healthz, /readyz and /metrics, for probes and scrapers that hold no
	// client certificate. Default: none; they are served on Addr.
	AdminAddr string

	// TLSCertFile and TLSKeyFile hold the server's certificate and key
	// (PEM). ClientCAFile holds the CAs client certificates must chain to.
	// All three set: the listener speaks TLS 1.2+ and requires a client
	// certificate (verified, and mapped to a party by Parties) unless
	// AllowTokens is set, in which case a certificate is optional.
	TLSCertFile, TLSKeyFile, ClientCAFile string
	// AllowTokens enables bearer tokens (Authorization: Bearer …). Without
	// TLS it must be set, since nobody could authenticate otherwise; it is
	// meant for --dev and for test environments.
	AllowTokens bool

	// MaxBodyBytes bounds a request body and a batch's uncompressed total.
	// Default 25 MiB (26,214,400 bytes), the limit of the chain.
	MaxBodyBytes int64
	// MaxBatchMessages bounds the messages in one ZIP batch. Default 30.
	MaxBatchMessages int
	// MaxValidations bounds the messages validated at the same time.
	// Validation is CPU-bound C code (libxml2): more of it at once than
	// there are CPUs only adds threads and cache misses, while requests
	// beyond the bound wait their turn cheaply. Default GOMAXPROCS; a
	// negative value means no bound.
	MaxValidations int
	// MaxValidationsPerCaller bounds the slots of MaxValidations one
	// principal holds at once; its further messages wait for one of its
	// own, so one caller's many or large messages slow only that caller.
	// Default half of MaxValidations (at least one).
	MaxValidationsPerCaller int
	// ValidationTimeout bounds how long one message may wait for a slot
	// and be validated. Past it the validation is abandoned (libxml2
	// stops at the next element it reads), the slot comes back, and the
	// caller gets 503 validation-busy with Retry-After. Default 10 s.
	ValidationTimeout time.Duration
	// MailboxLimit is the number of messages a listing returns when the
	// caller gives no limit. Default 100; a caller may ask up to 250.
	MailboxLimit int

	// Timeouts against slow clients (slowloris): reading the headers,
	// reading the whole request, writing the response, and keeping an idle
	// connection. Defaults 5 s, 60 s, 60 s, 120 s.
	ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout time.Duration

	// Logger receives one line per request (request id, route, status,
	// code, party, message id, berichtsoort) and the causes of internal
	// errors. The zero value logs nothing.
	Logger zerolog.Logger
	// Registerer receives the gateway's metrics; Gatherer is what /metrics
	// serves. Default: a new registry of the server's own for both.
	Registerer prometheus.Registerer
	Gatherer   prometheus.Gatherer

	// The ports; all four are required.
	Validator Validator
	Router    Router
	Store     Store
	Parties   Parties
	// Answerer, if set, answers heenberichten that break a level-2 rule
	// (see Answerer), with the findings of Validator.ValidateRules. Nil:
	// every valid message is delivered.
	Answerer Answerer
	// Aanleveringen, if set, runs the level-3 rules TR063 and TR074 on
	// the 305s and 307s to the gemeenten that ask for it (see
	// Aanleveringen); it needs the Answerer, which answers a breach.
	// Nil: the switch leaves level 3 to the recipient.
	Aanleveringen Aanleveringen
	// Ready lists the checks /readyz runs (e.g. store open, schemas
	// loaded). Default: none, ready while not shutting down.
	Ready []Check
	// Now returns the current time. Default time.Now.
	Now func() time.Time

	// Limits bound each principal's request rate and concurrency (see
	// limits.go); the zero value has defaults.
	Limits Limits
	// Correlations, if set, enables the VSP face (vsp.go): the same
	// pipeline under VECOZO's paths and ids. Nil: not served.
	Correlations Correlations

	// Audit, if set, records every access to personal data before the
	// response leaves and serves GET /v1/audit (see guard.go).
	Audit Auditor
}

// Limits of the API that callers rely on.
const (
	// MaxMailboxLimit is the most messages one listing returns, as in
	// VECOZO's REST pull.
	MaxMailboxLimit = 250
	// DefaultMaxBodyBytes is the limit of the chain: 25 MiB (26,214,400 bytes).
	DefaultMaxBodyBytes = 25 << 20
)

func (c Config) withDefaults() Config {
	if c.Addr == "" {
		c.Addr = "127.0.0.1:8080"
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.MaxBatchMessages == 0 {
		c.MaxBatchMessages = 30
	}
	if c.MaxValidations == 0 {
		c.MaxValidations = runtime.GOMAXPROCS(0)
	}
	if c.MaxValidationsPerCaller == 0 {
		c.MaxValidationsPerCaller = max(1, c.MaxValidations/2)
	}
	if c.ValidationTimeout == 0 {
		c.ValidationTimeout = 10 * time.Second
	}
	if c.MailboxLimit == 0 {
		c.MailboxLimit = 100
	}
	if c.ReadHeaderTimeout == 0 {
		c.ReadHeaderTimeout = 5 * time.Second
	}
	if c.ReadTimeout == 0 {
		c.ReadTimeout = 60 * time.Second
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = 60 * time.Second
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = 120 * time.Second
	}
	if c.Registerer == nil && c.Gatherer == nil {
		reg := prometheus.NewRegistry()
		c.Registerer, c.Gatherer = reg, reg
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// TLS reports whether the configuration asks for a TLS listener.
func (c Config) TLS() bool {
	return c.TLSCertFile != "" || c.TLSKeyFile != "" || c.ClientCAFile != ""
}

// Validate reports every problem of the configuration at once.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	if c.Validator == nil || c.Router == nil || c.Store == nil || c.Parties == nil {
		errs = append(errs, errors.New("validator, router, store and parties are all required"))
	}
	if c.TLS() && (c.TLSCertFile == "" || c.TLSKeyFile == "" || c.ClientCAFile == "") {
		errs = append(errs, errors.New("TLS needs a certificate, a key and a client CA file"))
	}
	if !c.TLS() && !c.AllowTokens {
		errs = append(errs, errors.New("without TLS client certificates, bearer tokens must be enabled, or nobody can authenticate"))
	}
	if c.MaxBodyBytes < 0 {
		errs = append(errs, fmt.Errorf("max body bytes %d is negative", c.MaxBodyBytes))
	}
	if c.MaxBatchMessages < 0 {
		errs = append(errs, fmt.Errorf("max batch messages %d is negative", c.MaxBatchMessages))
	}
	if c.MailboxLimit < 0 || c.MailboxLimit > MaxMailboxLimit {
		errs = append(errs, fmt.Errorf("mailbox limit %d is outside 1..%d", c.MailboxLimit, MaxMailboxLimit))
	}
	if c.Registerer == nil || c.Gatherer == nil {
		errs = append(errs, errors.New("registerer and gatherer must be set together"))
	}
	if c.Aanleveringen != nil && c.Answerer == nil {
		errs = append(errs, errors.New("the aanleveringen check needs an answerer to answer a breach"))
	}
	for _, ch := range c.Ready {
		if ch.Check == nil {
			errs = append(errs, fmt.Errorf("readiness check %q has no function", ch.Name))
		}
	}
	return errors.Join(errs...)
}
