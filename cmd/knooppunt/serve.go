package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/knooppunt/knooppunt/gateway"
	"github.com/knooppunt/knooppunt/node"
	"github.com/knooppunt/knooppunt/routing"
	"github.com/knooppunt/knooppunt/store/pebble"
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
	storeURL    string // "": Pebble in data
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
	// validationsPerCaller and validationTimeout share the validation
	// slots fairly among callers (gateway.Config).
	validationsPerCaller int
	validationTimeout    time.Duration
	answerRules          bool
	// Security: encryption at rest and the audit trail (docs/security.md).
	keyFile        string
	ledgerSecret   string
	plaintext      bool
	auditDir       string
	auditRetention time.Duration
	// Per-principal abuse limits (gateway.Limits): 0 default, negative off.
	rateLimit     float64
	rateBurst     int
	maxConcurrent int
	// Information products (docs/stuurinfo.md) on the API's listener.
	insight        bool
	samenloopRunAt string
	stuurinfoFile  string
	backupDir      string
	samenloopFile  string
	// The gemeente side (docs/stuf.md): the StUF-GGk SOAP endpoint and
	// push delivery, which runs whenever the registry names a push_url.
	stufAddr                      string
	stufSignCert, stufSignKey     string
	pushClientCert, pushClientKey string
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

Gemeenten (docs/stuf.md): --stuf-addr (or the registry's stuf_addr) runs the
StUF-GGk SOAP endpoint (ggk_Di01, ggk_Du01, Fo01) with the API's TLS and
authentication; with --dev it runs on the port after --addr's
(127.0.0.1:8081), where dev bearer tokens work without a signature, unless
--stuf-addr off. Push delivery runs whenever the registry names a party with
delivery: push; --stuf-sign-cert/--stuf-sign-key sign what the switch sends
(WS-Security), --push-client-cert/--push-client-key are its TLS client
certificate towards the push endpoints.

Store: Pebble in --data by default. --store nats://host:4222[,nats://…]
selects the JetStream store on a NATS cluster instead (docs/operations.md;
add ?replicas=1 for a single server, &node=NAME to name this node), as
does the registry file's store key, which --store overrides; --data then
only holds the node's own files (audit trail, insight state). Encryption at rest under --key-file
works on either store; every node of a cluster needs the same key file.

Security (docs/security.md): outside --dev message bodies are encrypted at
rest under the data keys of --key-file (default DATA.keys, created on first
start; keep it on another volume); --plaintext switches that off. With --dev
bodies are in the clear unless --key-file is given. Every access to personal
data is recorded in the audit trail in --audit-dir (default DATA.audit),
kept --audit-retention; check it with 'knooppunt audit verify'.

Level 3 (docs/rules.md): a gemeente with check_aanleveringen in the registry
gets its 305s and 307s checked against the aanleveringen received before
(TR063, TR074). The store's ledger keeps HMACs of them under the secret of
--ledger-secret (at least 32 random bytes, mode 0600); on Pebble without it
the secret is DATA/ledger.secret, created on first start; on JetStream every
node needs the same file, and a registry that turns the check on is
refused at start without it.

Information products (docs/stuurinfo.md), on by default (--insight=false
switches them off): GET /v1/stuurinfo, GET /v1/stuurinfo/nza, /dashboard,
POST /v1/samenloop/wlz-register and POST /v1/samenloop/run on the API's
address, with its authentication, roles, limits and audit. Their state is
kept in --stuurinfo-file and --samenloop-file, beside --data by default;
the samenloop comparison runs daily at --samenloop-run-at.

Runtime: serve runs Go's collector at GOGC=400 with a 1 GiB soft memory
limit and gives the scheduler four more Ps than the machine has cores
(docs/performance.md); GOGC, GOMEMLIMIT and GOMAXPROCS in the environment
win.

Flags:
`

// runServe is `knooppunt serve`: start, serve until a signal, stop.
func runServe(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var o serveOptions
	fs.BoolVar(&o.dev, "dev", false, "demo mode: built-in registry with bearer tokens dev-<code>, console logs")
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "address of the API")
	fs.StringVar(&o.adminAddr, "admin-addr", "", "optional plain-HTTP address for /healthz, /readyz and /metrics only")
	fs.StringVar(&o.data, "data", "./data", "data directory of the store")
	fs.StringVar(&o.backupDir, "backup-dir", "", "where POST /v1/backup (knooppunt backup) writes backups, each in a new directory; empty: no backups")
	fs.StringVar(&o.storeURL, "store", "", "store backend: empty for Pebble in --data, or nats://host:4222[,…][?replicas=N] for JetStream")
	fs.StringVar(&o.config, "config", "", "registry file (YAML, see routing/README.md); required without --dev")
	fs.StringVar(&o.schemas, "schemas", "", "directory of an XSD release bundle; default the embedded schemas")
	fs.StringVar(&o.stufAddr, "stuf-addr", "", "address of the StUF-GGk SOAP endpoint for gemeenten (registry key stuf_addr); with --dev the next port after --addr's (127.0.0.1:8081), \"off\" for none")
	fs.StringVar(&o.stufSignCert, "stuf-sign-cert", "", "WS-Security signing certificate (PEM) for the SOAP answers and pushes the switch sends")
	fs.StringVar(&o.stufSignKey, "stuf-sign-key", "", "key of --stuf-sign-cert (PEM)")
	fs.StringVar(&o.pushClientCert, "push-client-cert", "", "client certificate (PEM) push delivery presents to gemeente endpoints")
	fs.StringVar(&o.pushClientKey, "push-client-key", "", "key of --push-client-cert (PEM)")
	fs.StringVar(&o.tlsCert, "tls-cert", "", "server certificate (PEM)")
	fs.StringVar(&o.tlsKey, "tls-key", "", "server private key (PEM)")
	fs.StringVar(&o.clientCA, "client-ca", "", "CA certificates client certificates must chain to (PEM)")
	fs.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&o.logFormat, "log-format", "auto", "json, console, or auto: console with --dev, else json")
	fs.DurationVar(&o.grace, "grace", 30*time.Second, "how long shutdown waits for requests in flight")
	fs.BoolVar(&o.checkConfig, "check-config", false, "check the registry file, TLS files and schemas, then exit")
	fs.IntVar(&o.validations, "max-validations", 0, "messages validated at once; 0: one per CPU, -1: no bound")
	fs.IntVar(&o.validationsPerCaller, "max-validations-per-caller", 0, "of those, messages of one caller validated at once; 0: half of --max-validations")
	fs.DurationVar(&o.validationTimeout, "validation-timeout", 0, "how long one message may wait for a validation slot and be validated before 503 validation-busy; 0: 10s")
	fs.BoolVar(&o.answerRules, "answer-rules", true, "check the level-2 rules and answer a heenbericht that breaks one with the switch's own retourbericht (0001); false delivers every XSD-valid message")
	fs.StringVar(&o.keyFile, "key-file", "", "data keys for encryption at rest (default DATA.keys outside --dev; see 'knooppunt keys')")
	fs.StringVar(&o.ledgerSecret, "ledger-secret", "", "secret of the aanleveringen ledger (TR063, TR074): at least 32 random bytes, mode 0600 (default DATA/ledger.secret on Pebble, created on first start; required on JetStream when the registry has check_aanleveringen)")
	fs.BoolVar(&o.plaintext, "plaintext", false, "store message bodies in the clear outside --dev (not advised)")
	fs.StringVar(&o.auditDir, "audit-dir", "", "directory of the audit trail (default DATA.audit)")
	fs.DurationVar(&o.auditRetention, "audit-retention", 0, "how long audit entries are kept, e.g. 43800h; 0: 5 years")
	fs.Float64Var(&o.rateLimit, "rate-limit", 0, "requests per second per caller before 429 rate-limited; 0: 50, negative: no limit")
	fs.IntVar(&o.rateBurst, "rate-burst", 0, "requests a caller may make at once above --rate-limit; 0: 200")
	fs.IntVar(&o.maxConcurrent, "max-concurrent", 0, "requests of one caller in flight at once before 429; 0: 16, negative: no bound")
	fs.BoolVar(&o.insight, "insight", true, "serve stuurinformatie, the NZa export, the dashboard and samenloop signals on the API")
	fs.StringVar(&o.samenloopRunAt, "samenloop-run-at", "03:00", "time of day (HH:MM, Europe/Amsterdam) of the daily samenloop comparison")
	fs.StringVar(&o.stuurinfoFile, "stuurinfo-file", "", "file of the stuurinformatie aggregates (default products/stuurinfo.gob inside --data); locked while serve runs")
	fs.StringVar(&o.samenloopFile, "samenloop-file", "", "file of the samenloop state, which holds BSNs (default products/samenloop.gob inside --data); locked while serve runs")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run to this file (for performance work)")
	if code, done := parseFlags(fs, args, usageWithFlags(fs, serveUsage), stdout, stderr); done {
		return code
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
	tuneRuntime()

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
	fmt.Fprintf(stdout, "knooppunt listening on %s\n", inst.URL())
	if u := inst.StUFURL(); u != "" {
		fmt.Fprintf(stdout, "StUF-GGk endpoint on %s\n", u)
	}
	if o.dev && o.config == "" {
		printDevTokens(stdout)
	}
	for {
		select {
		case err := <-inst.Served():
			// The listener failed on its own: close what remains.
			log.Error().Err(err).Msg("serving stopped")
			inst.Close()
			return 1
		case sig := <-signals:
			if sig == syscall.SIGHUP {
				if err := inst.Reload(); err != nil {
					log.Error().Err(err).Msg("registry reload failed; the registry in force stays")
				}
				continue
			}
			log.Info().Str("signal", sig.String()).Dur("grace", o.grace).Msg("shutting down")
			sctx, cancel := context.WithTimeout(ctx, o.grace)
			err := inst.Shutdown(sctx)
			cancel()
			if err != nil {
				log.Error().Err(err).Msg("shutting down")
				return 1
			}
			return 0
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
	if o.validationsPerCaller < 0 || o.validationTimeout < 0 {
		errs = append(errs, errors.New("--max-validations-per-caller and --validation-timeout must not be negative"))
	}
	if err := routing.CheckStoreURL(o.storeURL); err != nil {
		errs = append(errs, fmt.Errorf("--store: %w (the Pebble directory is --data)", err))
	}
	if o.plaintext && o.keyFile != "" {
		errs = append(errs, errors.New("--plaintext and --key-file contradict each other"))
	}
	if o.rateBurst < 0 {
		errs = append(errs, fmt.Errorf("--rate-burst %d is negative", o.rateBurst))
	}
	if o.auditRetention < 0 {
		errs = append(errs, fmt.Errorf("--audit-retention %s is negative", o.auditRetention))
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
		w := zerolog.ConsoleWriter{Out: stderr, TimeFormat: "15:04:05.000", NoColor: !isTerminal(stderr)}
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

// nodeConfig is the node the flags describe.
func (o serveOptions) nodeConfig(log zerolog.Logger) node.Config {
	return node.Config{
		Dev: o.dev, RegistryFile: o.config,
		Addr: o.addr, AdminAddr: o.adminAddr, Schemas: o.schemas,
		TLSCertFile: o.tlsCert, TLSKeyFile: o.tlsKey, ClientCAFile: o.clientCA,
		MaxValidations: o.validations, MaxValidationsPerCaller: o.validationsPerCaller, ValidationTimeout: o.validationTimeout,
		AnswerRules: o.answerRules,
		Store:       pebble.Config{Dir: o.data},
		StoreURL:    o.storeURL,
		Security: node.SecurityConfig{KeyFile: o.keyFile, Plaintext: o.plaintext, LedgerSecretFile: o.ledgerSecret,
			AuditDir: o.auditDir, AuditRetention: o.auditRetention,
			Limits: gateway.Limits{Rate: o.rateLimit, Burst: o.rateBurst, Concurrent: o.maxConcurrent}},
		Insight: node.InsightConfig{Enabled: o.insight, SamenloopRunAt: o.samenloopRunAt,
			File: o.stuurinfoFile, SamenloopFile: o.samenloopFile},
		BackupDir: o.backupDir,
		StUF: node.StUFConfig{Addr: o.stufListen(), SignCertFile: o.stufSignCert, SignKeyFile: o.stufSignKey,
			ClientCertFile: o.pushClientCert, ClientKeyFile: o.pushClientKey},
		Logger: log,
	}
}

// stufListen is the StUF-GGk endpoint's address: --stuf-addr; with --dev
// and none given, the port after --addr's (127.0.0.1:8081 beside the
// default API address, or any free port beside port 0).
func (o serveOptions) stufListen() string {
	if o.stufAddr != "" || !o.dev {
		return o.stufAddr
	}
	host, port, err := net.SplitHostPort(o.addr)
	if err != nil {
		return ""
	}
	p, err := strconv.Atoi(port)
	if err != nil || p == 0 {
		return net.JoinHostPort(host, "0")
	}
	return net.JoinHostPort(host, strconv.Itoa(p+1))
}

// checkServeConfig is --check-config: load everything a start would load,
// except the store, and report.
func checkServeConfig(o serveOptions, stdout, stderr io.Writer) int {
	summary, err := node.Check(o.nodeConfig(zerolog.Nop()))
	if err != nil {
		fmt.Fprintf(stderr, "knooppunt serve: configuration is not valid:\n%v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "configuration OK: %s\n", summary)
	return 0
}

func printDevTokens(w io.Writer) {
	fmt.Fprintln(w, "dev registry — bearer tokens (never use these outside a demo):")
	for _, t := range routing.DevTokens() {
		fmt.Fprintf(w, "  %-22s %-20s %s\n", t.Token, t.Role, t.Name)
	}
}

// startInstance starts the switch the flags describe.
func startInstance(ctx context.Context, o serveOptions, log zerolog.Logger) (*node.Node, error) {
	return node.Start(ctx, o.nodeConfig(log))
}
