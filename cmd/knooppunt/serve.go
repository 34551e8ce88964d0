package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime/pprof"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/rs/zerolog"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/gateway"
	"github.com/knooppunt/knooppunt/routing"
	"github.com/knooppunt/knooppunt/store"
	"github.com/knooppunt/knooppunt/xsd"
)

func init() {
	commands["serve"] = command{summary: "run the switch: HTTP API, mailboxes, store", run: runServe}
}

// serveOptions are the flags of `knooppunt serve`.
type serveOptions struct {
	dev         bool
	addr        string
	adminAddr   string
	data        string
	config      string // registry file
	schemas     string
	tlsCert     string
	tlsKey      string
	clientCA    string
	logLevel    string
	logFormat   string
	grace       time.Duration
	checkConfig bool
	cpuProfile  string
	validations int
}

const serveUsage = `Usage: knooppunt serve [flags]

Runs the switch: the HTTP API (docs/api.md) over a durable store in --data.

Production: --config names the registry file (routing/README.md) and
--tls-cert, --tls-key and --client-ca are required: clients authenticate with
certificates (mutual TLS); bearer tokens too only if the registry says
tokens: true.

--dev runs on the built-in demo registry (gemeenten 0363, 0384, 0599,
aanbieders 42420001, 65656055, 12345678, …) with bearer tokens dev-<code>
and dev-operator, printed at start, over plain HTTP (TLS if the TLS flags are
given), with human-readable logs.

Signals: SIGHUP reloads the registry file (an invalid file keeps the old
one); SIGTERM or SIGINT stop accepting, finish the requests in flight (for at
most --grace), then close the store.

Flags:
`

// runServe is `knooppunt serve`: start, serve until a signal, stop.
func runServe(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), serveUsage)
		fs.PrintDefaults()
	}
	var o serveOptions
	fs.BoolVar(&o.dev, "dev", false, "demo mode: built-in registry with bearer tokens dev-<code>, console logs")
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "address of the API")
	fs.StringVar(&o.adminAddr, "admin-addr", "", "optional plain-HTTP address for /healthz, /readyz and /metrics only")
	fs.StringVar(&o.data, "data", "./data", "data directory of the store")
	fs.StringVar(&o.config, "config", "", "registry file (YAML, see routing/README.md); required without --dev")
	fs.StringVar(&o.schemas, "schemas", "", "directory of an XSD release bundle; default the embedded schemas")
	fs.StringVar(&o.tlsCert, "tls-cert", "", "server certificate (PEM)")
	fs.StringVar(&o.tlsKey, "tls-key", "", "server private key (PEM)")
	fs.StringVar(&o.clientCA, "client-ca", "", "CA certificates client certificates must chain to (PEM)")
	fs.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&o.logFormat, "log-format", "auto", "json, console, or auto: console with --dev, else json")
	fs.DurationVar(&o.grace, "grace", 30*time.Second, "how long shutdown waits for requests in flight")
	fs.BoolVar(&o.checkConfig, "check-config", false, "check the registry file, TLS files and schemas, then exit")
	fs.IntVar(&o.validations, "max-validations", 0, "messages validated at once; 0: one per CPU, -1: no bound")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run to this file (for performance work)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "knooppunt serve: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if err := o.validate(); err != nil {
		fmt.Fprintf(stderr, "knooppunt serve: %v\n", err)
		return 2
	}
	if o.checkConfig {
		return checkServeConfig(o, stdout, stderr)
	}

	log, sink, err := newLogger(o, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "knooppunt serve: %v\n", err)
		return 2
	}
	defer sink.Close()
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "knooppunt serve: %v\n", err)
			return 2
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(stderr, "knooppunt serve: %v\n", err)
			return 2
		}
		defer pprof.StopCPUProfile()
	}
	// Signals are caught before anything opens, so a SIGTERM during
	// start-up still closes the store properly.
	signals := make(chan os.Signal, 4)
	signal.Notify(signals, syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(signals)
	ctx := context.Background()
	inst, err := startInstance(ctx, o, log)
	if err != nil {
		log.Error().Err(err).Msg("starting")
		return 1
	}
	fmt.Fprintf(stdout, "knooppunt listening on %s://%s\n", inst.scheme(), inst.ln.Addr())
	if o.dev && o.config == "" {
		printDevTokens(stdout)
	}
	for {
		select {
		case err := <-inst.served:
			// The listener failed on its own: close what remains.
			log.Error().Err(err).Msg("serving stopped")
			inst.close(ctx, log)
			return 1
		case sig := <-signals:
			if sig == syscall.SIGHUP {
				inst.reload(log)
				continue
			}
			log.Info().Str("signal", sig.String()).Dur("grace", o.grace).Msg("shutting down")
			sctx, cancel := context.WithTimeout(ctx, o.grace)
			status := inst.shutdown(sctx, log)
			cancel()
			return status
		}
	}
}

// validate checks the flags that need no files.
func (o serveOptions) validate() error {
	tlsFlags := o.tlsCert != "" || o.tlsKey != "" || o.clientCA != ""
	var errs []error
	if !o.dev && o.config == "" {
		errs = append(errs, errors.New("--config (the registry file) is required without --dev"))
	}
	if !o.dev && (o.tlsCert == "" || o.tlsKey == "" || o.clientCA == "") {
		errs = append(errs, errors.New("--tls-cert, --tls-key and --client-ca are required without --dev: production clients authenticate with certificates"))
	}
	if o.dev && tlsFlags && (o.tlsCert == "" || o.tlsKey == "" || o.clientCA == "") {
		errs = append(errs, errors.New("--tls-cert, --tls-key and --client-ca go together"))
	}
	if _, err := zerolog.ParseLevel(o.logLevel); err != nil || o.logLevel == "" {
		errs = append(errs, fmt.Errorf("--log-level %q: want debug, info, warn or error", o.logLevel))
	}
	switch o.logFormat {
	case "", "auto", "json", "console":
	default:
		errs = append(errs, fmt.Errorf("--log-format %q: want json, console or auto", o.logFormat))
	}
	if o.grace < 0 {
		errs = append(errs, fmt.Errorf("--grace %s is negative", o.grace))
	}
	return errors.Join(errs...)
}

// newLogger builds the process logger: JSON lines, buffered (see
// logSink), or with --dev (and --log-format console) the human-readable
// console format, unbuffered. The caller closes the sink last.
func newLogger(o serveOptions, stderr io.Writer) (zerolog.Logger, *logSink, error) {
	level, err := zerolog.ParseLevel(o.logLevel)
	if err != nil {
		return zerolog.Logger{}, nil, fmt.Errorf("--log-level: %w", err)
	}
	format := o.logFormat
	if format == "" || format == "auto" {
		format = "json"
		if o.dev {
			format = "console"
		}
	}
	if format == "console" {
		w := zerolog.ConsoleWriter{Out: stderr, TimeFormat: "15:04:05.000"}
		return zerolog.New(w).Level(level).With().Timestamp().Logger(), nil, nil
	}
	sink := newLogSink(stderr, 100*time.Millisecond)
	return zerolog.New(sink).Level(level).With().Timestamp().Logger(), sink, nil
}

// logSink buffers JSON log lines and writes them out every interval, when
// 64 KB have gathered, and at once for a warning or worse: one write
// system call per request line cost more CPU than the request's routing.
// Lines are whole (zerolog writes one line per call), so a crash loses at
// most the last interval of info lines, never a torn line.
type logSink struct {
	mu   sync.Mutex
	w    *bufio.Writer
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

func newLogSink(w io.Writer, interval time.Duration) *logSink {
	s := &logSink{w: bufio.NewWriterSize(w, 64<<10), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				s.flush()
			case <-s.stop:
				return
			}
		}
	}()
	return s
}

// Write buffers one log line.
func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// WriteLevel buffers a line and writes everything out for warn and above.
func (s *logSink) WriteLevel(l zerolog.Level, p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, err := s.w.Write(p)
	if err == nil && l >= zerolog.WarnLevel {
		err = s.w.Flush()
	}
	return n, err
}

func (s *logSink) flush() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.w.Flush() // a log that cannot be written has nowhere to report it
}

// Close writes out what is buffered and stops the flusher; safe twice.
func (s *logSink) Close() error {
	if s == nil {
		return nil
	}
	s.once.Do(func() {
		close(s.stop)
		<-s.done
		s.flush()
	})
	return nil
}

// loadRegistry reads the registry file, or builds the dev registry.
func loadRegistry(o serveOptions) (*routing.Registry, error) {
	if o.config == "" {
		return routing.DevRegistry(), nil
	}
	r, err := routing.Load(o.config)
	if err != nil {
		return nil, fmt.Errorf("loading registry %s: %w", o.config, err)
	}
	return r, nil
}

// checkServeConfig is --check-config: load everything a start would load,
// except the store, and report.
func checkServeConfig(o serveOptions, stdout, stderr io.Writer) int {
	var errs []error
	reg, err := loadRegistry(o)
	if err != nil {
		errs = append(errs, err)
	}
	if o.tlsCert != "" {
		if _, err := tls.LoadX509KeyPair(o.tlsCert, o.tlsKey); err != nil {
			errs = append(errs, fmt.Errorf("loading TLS certificate %s: %w", o.tlsCert, err))
		}
		if pem, err := os.ReadFile(o.clientCA); err != nil {
			errs = append(errs, fmt.Errorf("reading client CA: %w", err))
		} else if !x509.NewCertPool().AppendCertsFromPEM(pem) {
			errs = append(errs, fmt.Errorf("reading client CA %s: no PEM certificate in it", o.clientCA))
		}
	}
	set, err := xsd.Load(xsd.Config{Dir: o.schemas})
	if err != nil {
		errs = append(errs, fmt.Errorf("loading schemas: %w", err))
	} else {
		defer set.Close()
	}
	if err := errors.Join(errs...); err != nil {
		fmt.Fprintf(stderr, "knooppunt serve: configuration is not valid:\n%v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "configuration OK: %d principals in the registry (tokens %s), %d berichtsoorten in the schemas (%s)\n",
		len(reg.Principals()), onOff(reg.TokensEnabled() || o.dev && o.config == ""), len(set.Soorts()), set.Source())
	return 0
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func printDevTokens(w io.Writer) {
	fmt.Fprintln(w, "dev registry — bearer tokens (never use these outside a demo):")
	for _, t := range routing.DevTokens() {
		fmt.Fprintf(w, "  %-22s %-20s %s\n", t.Token, t.Role, t.Name)
	}
}

// instance is a running switch: registry, schemas, store and gateway.
type instance struct {
	opts    serveOptions
	book    *routing.Book
	set     *xsd.Set
	store   *store.Pebble
	srv     *gateway.Server
	ln      net.Listener
	served  chan error
	metrics *prometheus.Registry
}

// startInstance loads the registry and schemas, opens the store and starts
// serving on o.addr (or 127.0.0.1:0 in tests).
func startInstance(ctx context.Context, o serveOptions, log zerolog.Logger) (_ *instance, err error) {
	inst := &instance{opts: o, served: make(chan error, 1), metrics: prometheus.NewRegistry()}
	defer func() {
		if err != nil {
			inst.close(ctx, log)
		}
	}()
	inst.metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg, err := loadRegistry(o)
	if err != nil {
		return inst, err
	}
	inst.book = routing.NewBook(reg)
	if inst.set, err = xsd.Load(xsd.Config{Dir: o.schemas}); err != nil {
		return inst, fmt.Errorf("loading schemas: %w", err)
	}
	inst.store, err = store.Open(ctx, store.Config{
		Dir: o.data, Logger: log, Registerer: inst.metrics,
	})
	if err != nil {
		return inst, fmt.Errorf("opening store %s: %w", o.data, err)
	}
	st := inst.store // registers knooppunt_store_pending_messages, the mailbox depth
	set := inst.set
	inst.srv, err = gateway.New(gateway.Config{
		Addr: o.addr, AdminAddr: o.adminAddr,
		TLSCertFile: o.tlsCert, TLSKeyFile: o.tlsKey, ClientCAFile: o.clientCA,
		AllowTokens:    o.dev || reg.TokensEnabled(),
		MaxValidations: o.validations,
		Logger:         log,
		Registerer:     inst.metrics, Gatherer: inst.metrics,
		Validator: validatorPort{set},
		Router:    routerPort{book: inst.book, store: st},
		Store:     storePort{st},
		Parties:   partiesPort{inst.book},
		Ready: []gateway.Check{
			{Name: "store", Check: func(ctx context.Context) error {
				_, err := st.Meta(ctx, store.ID{}) // an open store answers "not found"
				if errors.Is(err, store.ErrNotFound) {
					return nil
				}
				return err
			}},
			{Name: "schemas", Check: func(context.Context) error {
				if len(set.Soorts()) == 0 {
					return errors.New("no schemas loaded")
				}
				return nil
			}},
		},
	})
	if err != nil {
		return inst, err
	}
	if inst.ln, err = inst.srv.Listen(); err != nil {
		return inst, err
	}
	go func() { inst.served <- inst.srv.Serve(inst.ln) }()
	log.Info().Str("addr", inst.ln.Addr().String()).Str("data", o.data).Str("schemas", set.Source()).
		Int("principals", len(reg.Principals())).Bool("dev", o.dev).Msg("started")
	return inst, nil
}

func (inst *instance) scheme() string {
	if inst.opts.tlsCert != "" {
		return "https"
	}
	return "http"
}

// reload replaces the registry from its file; an invalid file keeps the
// registry in force. Messages are untouched.
func (inst *instance) reload(log zerolog.Logger) {
	if inst.opts.config == "" {
		log.Warn().Msg("SIGHUP: the dev registry is built in; nothing to reload")
		return
	}
	if err := inst.book.Reload(inst.opts.config); err != nil {
		log.Error().Err(err).Msg("registry reload failed; the previous registry stays in force")
		return
	}
	log.Info().Int("principals", len(inst.book.Registry().Principals())).Msg("registry reloaded")
}

// shutdown is the graceful stop: the gateway finishes requests in flight
// (until ctx ends), then schemas and store close — the store last.
func (inst *instance) shutdown(ctx context.Context, log zerolog.Logger) int {
	status := 0
	if err := inst.srv.Shutdown(ctx); err != nil {
		log.Error().Err(err).Msg("shutting down the gateway")
		status = 1
	}
	if err := <-inst.served; err != nil {
		log.Error().Err(err).Msg("serving")
		status = 1
	}
	inst.served <- nil // for a second shutdown or close
	if !inst.close(ctx, log) {
		status = 1
	}
	if status == 0 {
		log.Info().Msg("stopped")
	}
	return status
}

// close releases whatever is open, the store last; safe on a partly
// started instance and more than once.
func (inst *instance) close(ctx context.Context, log zerolog.Logger) bool {
	ok := true
	if inst.srv != nil {
		if err := inst.srv.Close(); err != nil {
			log.Error().Err(err).Msg("closing the gateway")
			ok = false
		}
	}
	if inst.ln != nil {
		inst.ln.Close() // Serve may not have started yet
	}
	if inst.set != nil {
		inst.set.Close()
	}
	if inst.store != nil {
		if err := inst.store.Close(); err != nil {
			log.Error().Err(err).Msg("closing the store")
			ok = false
		}
	}
	return ok
}

// The adapters below connect the gateway's ports to the xsd, routing and
// store packages, translating their errors into gateway errors with the
// owning package's stable code and the kind that decides the HTTP status.

// validatorPort is the gateway's Validator on an xsd.Set.
type validatorPort struct{ set *xsd.Set }

func (v validatorPort) Validate(msg []byte) (bericht.Header, error) {
	h, err := v.set.Validate(msg)
	if err == nil {
		return h, nil
	}
	if errors.Is(err, xsd.ErrClosed) {
		return h, &gateway.Error{Kind: gateway.KindUnavailable, Code: gateway.CodeShuttingDown, Message: "the validator is shutting down; retry later", Err: err}
	}
	var xe *xsd.Error
	if !errors.As(err, &xe) {
		return h, fmt.Errorf("validating: %w", err)
	}
	e := &gateway.Error{Kind: xsdKind(xe.Code), Code: xe.Code, Message: xe.Detail}
	if e.Kind == gateway.KindInternal {
		e.Err = err
	}
	if e.Message == "" {
		e.Message = "the message was refused: " + xe.Code
	}
	if xe.Omitted > 0 {
		e.Message += fmt.Sprintf(" (%d further violations not listed)", xe.Omitted)
	}
	for _, vi := range xe.Violations {
		e.Violations = append(e.Violations, gateway.Violation{Line: vi.Line, Column: vi.Column, Message: vi.Message})
	}
	return h, e
}

// xsdKind maps a validator code to the gateway's kind: unreadable input is
// 400, a message that breaks its schema 422.
func xsdKind(code string) gateway.Kind {
	switch code {
	case xsd.CodeTooLarge:
		return gateway.KindTooLarge
	case xsd.CodeEmpty, xsd.CodeByteOrderMark, xsd.CodeNotUTF8, xsd.CodeDoctype, xsd.CodeNotWellFormed, xsd.CodeNotBericht, xsd.CodeUnknownNS:
		return gateway.KindMalformed
	case xsd.CodeInvalid, xsd.CodeBerichtCode, xsd.CodeUnknownRelease, xsd.CodeNotCarried:
		return gateway.KindInvalid
	default:
		return gateway.KindInternal
	}
}

// partiesPort is the gateway's Parties on the registry in force.
type partiesPort struct{ book *routing.Book }

// principalOf is the gateway's view of a registry principal: auditors read
// track & trace like operators.
func principalOf(p *routing.Principal) gateway.Principal {
	return gateway.Principal{
		ID:       p.ID,
		Party:    p.Role.IsParty(),
		Operator: p.Role == routing.Operator || p.Role == routing.Auditor,
	}
}

// ByCertificate maps a verified client certificate through the registry.
func (pp partiesPort) ByCertificate(cert *x509.Certificate) (gateway.Principal, bool) {
	p, ok := pp.book.Registry().ByCertificate(cert)
	if !ok {
		return gateway.Principal{}, false
	}
	return principalOf(p), true
}

// ByToken maps a bearer token through the registry.
func (pp partiesPort) ByToken(token string) (gateway.Principal, bool) {
	p, ok := pp.book.Registry().ByToken(token)
	if !ok {
		return gateway.Principal{}, false
	}
	return principalOf(p), true
}

// ActsFor: p is the party, or its samenwerkingsverband.
func (pp partiesPort) ActsFor(p gateway.Principal, code string) bool {
	reg := pp.book.Registry()
	rp, ok := reg.Principal(p.ID)
	if !ok || !p.Party {
		return false
	}
	if rp.ID == code {
		return true // its own messages, also while inactive
	}
	return reg.MayActFor(rp, code)
}

// routerPort is the gateway's Router: the routing rules of the registry in
// force, with heenberichten looked up in the store.
type routerPort struct {
	book  *routing.Book
	store store.Store
}

// Route applies routing.Registry.Route with the store as conversation index.
func (rp routerPort) Route(ctx context.Context, p gateway.Principal, h bericht.Header) (gateway.Route, error) {
	reg := rp.book.Registry()
	principal, _ := reg.Principal(p.ID) // nil: Route refuses it
	// The party answering a heenbericht: the retour's header Ontvanger,
	// the 325's Afzender.
	answerer := h.Ontvanger
	if !h.Soort.Retour {
		answerer = h.Afzender
	}
	lookup := func(ctx context.Context, key routing.HeenKey) (routing.HeenRef, bool, error) {
		m, err := rp.store.Lookup(ctx, store.Key{Sender: key.Sender, Soort: key.Berichtsoort, Identificatie: key.Identificatie})
		if errors.Is(err, store.ErrNotFound) {
			return routing.HeenRef{}, false, nil
		}
		if err != nil {
			return routing.HeenRef{}, false, err
		}
		// The store knows the mailbox a heenbericht went to, not its
		// header Ontvanger: a mailbox that handles the answerer (a
		// samenwerkingsverband) stands for it.
		recipient := m.Recipient
		if box, ok := reg.MailboxOf(answerer); ok && box == m.Recipient {
			recipient = answerer
		}
		return routing.HeenRef{ID: m.ID.String(), Sender: m.Sender, Recipient: recipient}, true, nil
	}
	d, err := reg.Route(ctx, principal, h, lookup)
	if err != nil {
		var re *routing.Error
		if errors.As(err, &re) {
			kind := gateway.KindUnroutable
			if re.Code.Status() == 403 {
				kind = gateway.KindForbidden
			}
			return gateway.Route{}, &gateway.Error{Kind: kind, Code: string(re.Code), Message: re.Msg}
		}
		return gateway.Route{}, storeError(err)
	}
	return gateway.Route{Recipient: d.Recipient, Mailbox: d.Mailbox, Heen: d.HeenID}, nil
}

// storePort is the gateway's Store on a store.Store.
type storePort struct{ s store.Store }

// storeError maps a store error to the gateway's kinds.
func storeError(err error) error {
	var dup *store.DuplicateError
	switch {
	case errors.As(err, &dup):
		return &gateway.Error{Kind: gateway.KindConflict, Code: gateway.CodeDuplicateConflict, ID: dup.Original.String(),
			Message: "this Identificatie was used before for a message with other content (TR056)"}
	case errors.Is(err, store.ErrNotFound):
		return &gateway.Error{Kind: gateway.KindNotFound, Code: gateway.CodeNotFound, Message: "no such message for this party"}
	case errors.Is(err, store.ErrExpired):
		return &gateway.Error{Kind: gateway.KindNotFound, Code: store.Code(err), Message: "the message was confirmed and its content has been removed by retention"}
	case errors.Is(err, store.ErrClosed):
		return &gateway.Error{Kind: gateway.KindUnavailable, Code: gateway.CodeShuttingDown, Message: "the store is closing; retry later", Err: err}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &gateway.Error{Kind: gateway.KindUnavailable, Code: gateway.CodeCancelled, Message: "the request ended before the store answered; the outcome is unknown, resend (resends are idempotent)", Err: err}
	}
	return fmt.Errorf("store: %w", err)
}

// parseID turns a path id into a store id; a malformed one names no message.
func parseID(id string) (store.ID, error) {
	sid, err := store.ParseID(id)
	if err != nil {
		return sid, &gateway.Error{Kind: gateway.KindNotFound, Code: gateway.CodeNotFound, Message: "no such message for this party"}
	}
	return sid, nil
}

// Put files the message under its own Identificatie (IdentificatieRetour
// for a retour) in the mailbox routing chose.
func (sp storePort) Put(ctx context.Context, m gateway.Message) (gateway.Receipt, error) {
	ident := m.Header.Identificatie
	if m.Header.Soort.Retour {
		ident = m.Header.IdentificatieRetour
	}
	msg := &store.Message{
		Soort: m.Header.Soort.Name, Sender: m.Header.Sender(), Recipient: m.Route.Mailbox,
		Identificatie: ident, Received: m.Received, Validated: m.Validated, Body: m.Body,
	}
	if m.Route.Heen != "" {
		id, err := store.ParseID(m.Route.Heen)
		if err != nil {
			return gateway.Receipt{}, fmt.Errorf("heenbericht id %q from routing: %w", m.Route.Heen, err)
		}
		msg.Answers = id
	}
	rec, err := sp.s.Put(ctx, msg)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) { // the heenbericht expired between routing and storing
			return gateway.Receipt{}, &gateway.Error{Kind: gateway.KindUnroutable, Code: string(routing.CodeRetourWithoutHeen), Message: "the heenbericht this message answers is no longer known"}
		}
		return gateway.Receipt{}, storeError(err)
	}
	return gateway.Receipt{ID: rec.ID.String(), Duplicate: rec.Duplicate}, nil
}

func (sp storePort) List(ctx context.Context, mailbox string, limit int) ([]gateway.Entry, error) {
	entries, err := sp.s.List(ctx, mailbox, limit)
	if err != nil {
		return nil, storeError(err)
	}
	out := make([]gateway.Entry, len(entries))
	for i, e := range entries {
		out[i] = gateway.Entry{ID: e.ID.String(), Berichtsoort: e.Soort, Afzender: e.Sender, Received: e.Received, Size: e.Size}
	}
	return out, nil
}

func (sp storePort) Fetch(ctx context.Context, mailbox, id string) ([]byte, error) {
	sid, err := parseID(id)
	if err != nil {
		return nil, err
	}
	b, err := sp.s.Get(ctx, mailbox, sid)
	if err != nil {
		return nil, storeError(err)
	}
	return b, nil
}

func (sp storePort) Ack(ctx context.Context, mailbox, id string) error {
	sid, err := parseID(id)
	if err != nil {
		return err
	}
	if err := sp.s.Ack(ctx, mailbox, sid); err != nil {
		return storeError(err)
	}
	return nil
}

// Trace reads the store's metadata and history of a message.
func (sp storePort) Trace(ctx context.Context, id string) (gateway.Trace, error) {
	sid, err := parseID(id)
	if err != nil {
		return gateway.Trace{}, err
	}
	m, err := sp.s.Meta(ctx, sid)
	if err != nil {
		return gateway.Trace{}, storeError(err)
	}
	t := gateway.Trace{
		ID: m.ID.String(), Berichtsoort: m.Soort, Sender: m.Sender, Recipient: m.Recipient,
		Identificatie: m.Identificatie, Events: make([]gateway.Event, len(m.History)),
	}
	if !m.Conversation.IsZero() && m.Conversation != m.ID {
		t.Heen = m.Conversation.String()
	}
	for i, e := range m.History {
		t.Events[i] = gateway.Event{State: e.State.String(), At: e.At}
		if e.State == store.StateRetourReceived && !e.Ref.IsZero() {
			t.Retour = e.Ref.String()
		}
	}
	return t, nil
}
