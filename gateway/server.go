package gateway

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"
)

// Server is the HTTP API. Create it with New, bind with Listen (or bring a
// listener), run Serve, and stop it with Shutdown; then close the store.
type Server struct {
	cfg     Config
	log     zerolog.Logger
	metrics *metrics
	retour  *retourMetrics
	tls     *tls.Config // nil: plain HTTP
	// handshakes counts and logs the failed TLS handshakes of the API and
	// every Door; nil with plain HTTP.
	handshakes *handshakeLog
	http       *http.Server
	admin      *http.Server // nil without AdminAddr
	mux        http.Handler
	// extra and mounted are the Endpoints of other packages given to New:
	// routes of their own, and handlers of productRoutes (routes.go).
	extra   []route
	mounted map[string]func(*Server, http.ResponseWriter, *http.Request, *request) error
	// promHandler serves /metrics.
	promHandler http.Handler
	// slots bounds the validations at once, in all and per caller
	// (slots.go); nil: no bound.
	slots *slots
	// limits holds the per-principal rate and concurrency (limits.go).
	limits *limiter

	adminAddr atomic.Pointer[net.Addr] // set once the admin listener is bound
	draining  atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

// New checks cfg and builds a Server; it does not listen yet. Endpoints of
// other packages are served beside the built-in endpoints, behind the
// same checks (routes.go).
func New(cfg Config, endpoints ...Endpoint) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("gateway config: %w", err)
	}
	extra, mounted, err := extraRoutes(endpoints)
	if err != nil {
		return nil, fmt.Errorf("gateway endpoints: %w", err)
	}
	cfg = cfg.withDefaults()
	cfg.Ready = append([]Check(nil), cfg.Ready...)
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger.With().Str("component", "gateway").Logger(), metrics: m, extra: extra, mounted: mounted}
	if s.retour, err = newRetourMetrics(cfg.Registerer); err != nil {
		return nil, err
	}
	if cfg.TLS() {
		if s.tls, err = loadTLS(cfg); err != nil {
			return nil, err
		}
		for _, c := range s.tls.Certificates {
			if c.Leaf != nil {
				m.certExpiry.WithLabelValues("server").Set(float64(c.Leaf.NotAfter.Unix()))
			}
		}
	}
	if cfg.MaxValidations > 0 {
		s.slots = newSlots(cfg.MaxValidations, cfg.MaxValidationsPerCaller)
		if err := s.slots.register(cfg.Registerer, cfg.Now); err != nil {
			return nil, err
		}
	}
	s.limits = newLimiter(cfg.Limits)
	s.promHandler = promhttp.HandlerFor(cfg.Gatherer, promhttp.HandlerOpts{})
	s.mux = s.routes()
	s.http = s.httpServer(s.mux, 0, 0)
	s.http.TLSConfig = s.tls
	if s.tls != nil {
		s.handshakes = newHandshakeLog(s.log, m.tlsFailed, cfg.Now) // tlslog.go
		s.http.ConnState = s.handshakes.connState
	}
	if cfg.AdminAddr != "" {
		s.admin = s.httpServer(s.adminRoutes(), 0, 0)
	}
	return s, nil
}

// httpServer is an http.Server for h with the API's limits against slow
// and greedy clients: its timeouts (read and write replaced where given),
// its bound on header bytes, and net/http's complaints in the debug log.
func (s *Server) httpServer(h http.Handler, read, write time.Duration) *http.Server {
	if read <= 0 {
		read = s.cfg.ReadTimeout
	}
	if write <= 0 {
		write = s.cfg.WriteTimeout
	}
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout:       read,
		WriteTimeout:      write,
		IdleTimeout:       s.cfg.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		// net/http reports through a *log.Logger only; debugWriter hands
		// its lines to zerolog.
		ErrorLog: log.New(debugWriter{s.log}, "", 0),
	}
}

// loadTLS builds the listener's TLS configuration: TLS 1.2 or newer, the
// server certificate, and client certificates verified against the client
// CA, required unless bearer tokens are enabled.
func loadTLS(cfg Config) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(cfg.TLSCertFile, cfg.TLSKeyFile)
	if err != nil {
		return nil, fmt.Errorf("loading TLS certificate %s: %w", cfg.TLSCertFile, err)
	}
	pem, err := os.ReadFile(cfg.ClientCAFile)
	if err != nil {
		return nil, fmt.Errorf("reading client CA %s: %w", cfg.ClientCAFile, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("reading client CA %s: no PEM certificate in it", cfg.ClientCAFile)
	}
	auth := tls.RequireAndVerifyClientCert
	if cfg.AllowTokens {
		auth = tls.VerifyClientCertIfGiven
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
		ClientCAs:    pool,
		ClientAuth:   auth,
	}, nil
}

// Handler returns the API's handler, e.g. for httptest.
func (s *Server) Handler() http.Handler { return s.mux }

// Listen binds the configured Addr. Serve it with Serve, which adds TLS
// when configured and binds AdminAddr.
func (s *Server) Listen() (net.Listener, error) {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", s.cfg.Addr, err)
	}
	return ln, nil
}

// Serve answers requests on ln until Shutdown or Close, and returns nil
// then. With TLS configured, ln must be a plain TCP listener: Serve adds
// TLS itself. The admin listener, if configured, is bound and served too.
func (s *Server) Serve(ln net.Listener) error {
	var adminErr chan error
	if s.admin != nil {
		aln, err := net.Listen("tcp", s.cfg.AdminAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("listening on admin address %s: %w", s.cfg.AdminAddr, err)
		}
		addr := aln.Addr()
		s.adminAddr.Store(&addr)
		adminErr = make(chan error, 1)
		go func() { adminErr <- s.admin.Serve(aln) }()
	}
	s.log.Info().Str("addr", ln.Addr().String()).Bool("tls", s.tls != nil).Bool("tokens", s.cfg.AllowTokens).Msg("serving")
	var err error
	if s.tls != nil {
		err = s.http.Serve(tls.NewListener(ln, s.tls))
	} else {
		err = s.http.Serve(ln)
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	} else if s.admin != nil {
		s.admin.Close() // the API failed on its own; do not keep probes green
	}
	if adminErr != nil {
		if aerr := <-adminErr; aerr != nil && !errors.Is(aerr, http.ErrServerClosed) && err == nil {
			err = aerr
		}
	}
	if err != nil {
		return fmt.Errorf("serving %s: %w", ln.Addr(), err)
	}
	return nil
}

// AdminAddr is the address the admin listener is bound to, or nil before
// Serve bound it (or without AdminAddr).
func (s *Server) AdminAddr() net.Addr {
	if a := s.adminAddr.Load(); a != nil {
		return *a
	}
	return nil
}

// Shutdown stops the server gracefully: /readyz turns 503 at once, the
// listeners close, and in-flight requests run to their end (a message being
// stored is stored and answered) until ctx ends; then the remaining
// connections are closed. The caller closes the store after Shutdown
// returns. Safe to call more than once and together with Close.
func (s *Server) Shutdown(ctx context.Context) error {
	s.draining.Store(true)
	errs := []error{}
	if s.admin != nil {
		if err := s.admin.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("shutting down admin listener: %w", err))
		}
	}
	if err := s.http.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("shutting down: %w", err))
		s.http.Close()
	}
	return errors.Join(errs...)
}

// Close stops the server at once, cutting in-flight requests (their
// clients see a broken connection, never a false 2xx). Safe to call twice.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.draining.Store(true)
		var errs []error
		if s.admin != nil {
			errs = append(errs, s.admin.Close())
		}
		errs = append(errs, s.http.Close())
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// debugWriter sends net/http's own complaints (TLS handshake failures,
// broken connections: noise a client can cause at will) to the debug log.
// Failed handshakes are also counted and logged at warn level, rate-bounded
// and by reason only (tlslog.go).
type debugWriter struct{ log zerolog.Logger }

// Write logs one line of net/http's at debug level.
func (w debugWriter) Write(p []byte) (int, error) {
	w.log.Debug().Str("source", "net/http").Msg(strings.TrimSpace(string(p)))
	return len(p), nil
}

// route is one endpoint of the API.
type route struct {
	pattern, method string
	handle          func(*Server, http.ResponseWriter, *http.Request, *request) error
}

// coreRoutes are the gateway's own authenticated endpoints.
var coreRoutes = []route{
	{"/v1/berichten", http.MethodPost, (*Server).postBericht},
	{"/v1/berichten/batch", http.MethodPost, (*Server).postBatch},
	{"/v1/berichten/{id}", http.MethodGet, (*Server).getTrace},
	{"/v1/validate", http.MethodPost, (*Server).postValidate},
	{"/v1/mailbox", http.MethodGet, (*Server).listMailbox},
	{"/v1/mailbox/{id}", http.MethodGet, (*Server).fetchMailbox},
	{"/v1/mailbox/{id}", http.MethodDelete, (*Server).ackMailbox},
	{"/v1/quarantine", http.MethodGet, (*Server).listQuarantine},
	{"/v1/quarantine/{id}/release", http.MethodPost, (*Server).releaseQuarantine},
}

// apiRoutes are the authenticated endpoints: the gateway's own and the
// information products' (routes.go); docs/openapi.yaml describes each (a
// test holds them together).
var apiRoutes = slices.Concat(coreRoutes, productRoutes)

// operationalRoutes need no credentials.
var operationalRoutes = []route{
	{"/healthz", http.MethodGet, (*Server).healthz},
	{"/readyz", http.MethodGet, (*Server).readyz},
	{"/metrics", http.MethodGet, (*Server).serveMetrics},
}

// handle registers the routes on mux, one adapter per pattern.
func (s *Server) handle(mux *http.ServeMux, routes []route, authenticate bool) {
	var patterns []string
	byPattern := map[string]map[string]handlerFunc{}
	for _, rt := range routes {
		if byPattern[rt.pattern] == nil {
			byPattern[rt.pattern] = map[string]handlerFunc{}
			patterns = append(patterns, rt.pattern)
		}
		handle := rt.handle
		h := func(w http.ResponseWriter, r *http.Request, rq *request) error {
			return handle(s, w, r, rq)
		}
		if authenticate {
			h = s.guard(rt.method, rt.pattern, h) // roles, limits, audit: guard.go
		}
		byPattern[rt.pattern][rt.method] = h
	}
	for _, p := range patterns {
		mux.Handle(p, s.endpoint(p, authenticate, byPattern[p]))
	}
}

// routes builds the API's routing table.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	s.handle(mux, apiRoutes, true)
	s.handle(mux, securityRoutes, true)
	s.handle(mux, s.extra, true)
	if s.cfg.Correlations != nil {
		s.handle(mux, vspRoutes, true)
		mux.Handle(vspBase, s.endpoint(vspBase, false, nil)) // a problem-details 404 below the face
	}
	s.handle(mux, operationalRoutes, false)
	if s.cfg.AllowTokens {
		s.handle(mux, loginRoutes, false)
	}
	return s.cleanPaths(mux)
}

// cleanPaths answers a path with "//", "." or ".." segments with a JSON
// 404 instead of the ServeMux's HTML redirect: API clients send clean
// paths, and every answer is JSON. Anything the mux does not know is a
// JSON 404 too.
func (s *Server) cleanPaths(mux *http.ServeMux) http.Handler {
	notFound := s.endpoint("/", false, nil)
	mux.Handle("/", notFound)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if p == "" || p[0] != '/' || strings.Contains(p, "//") || strings.Contains(p, "/./") || strings.Contains(p, "/../") ||
			strings.HasSuffix(p, "/.") || strings.HasSuffix(p, "/..") {
			notFound.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// adminRoutes serves only the operational endpoints.
func (s *Server) adminRoutes() http.Handler {
	mux := http.NewServeMux()
	s.handle(mux, operationalRoutes, false)
	return s.cleanPaths(mux)
}

// serveMetrics is GET /metrics: the Gatherer in Prometheus text format.
func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request, rq *request) error {
	s.promHandler.ServeHTTP(w, r)
	rq.status, rq.code = http.StatusOK, "ok"
	return nil
}
