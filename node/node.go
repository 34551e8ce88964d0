// Package node assembles a running Knooppunt from its parts — the registry
// (routing), the schemas (xsd), the store and the HTTP gateway — and owns
// their lifecycle: start in dependency order, reload the registry, shut down
// gracefully with the store closed last.
//
// It is the composition root shared by `knooppunt serve`, the conformance
// runner and end-to-end tests, so that they all run the same switch. The
// adapters in ports.go connect the gateway's own interfaces to the packages
// that implement them; features that span packages are wired here too.
package node

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/rs/zerolog"

	"github.com/knooppunt/knooppunt/audit"
	"github.com/knooppunt/knooppunt/gateway"
	"github.com/knooppunt/knooppunt/insight"
	"github.com/knooppunt/knooppunt/routing"
	"github.com/knooppunt/knooppunt/store"
	"github.com/knooppunt/knooppunt/store/pebble"
	"github.com/knooppunt/knooppunt/xsd"
)

// Config describes one switch. The zero value is not usable: set Dev,
// RegistryFile or Registry, and Store.Dir.
type Config struct {
	// Dev runs on the built-in demo registry (routing.DevRegistry) when
	// RegistryFile and Registry are empty, and allows bearer tokens
	// whatever the registry says.
	Dev bool
	// RegistryFile is the registry (address book) in YAML; see
	// routing/README.md. Reload reads it again.
	RegistryFile string
	// Registry, when RegistryFile is empty, is the registry to run on: one
	// built in code, such as the conformance run's (the dev registry and a
	// gemeente that checks its aanleveringen). It is not reloaded.
	Registry *routing.Registry
	// Addr is the API's listen address; "127.0.0.1:0" picks a free port.
	Addr string
	// AdminAddr, if set, is a plain-HTTP address serving only /healthz,
	// /readyz and /metrics.
	AdminAddr string
	// Schemas is a directory with an XSD release bundle; empty means the
	// embedded schema set.
	Schemas string
	// TLSCertFile, TLSKeyFile and ClientCAFile switch the API to TLS with
	// client certificates (mutual TLS). All three or none.
	TLSCertFile, TLSKeyFile, ClientCAFile string
	// MaxValidations bounds the messages validated at once; 0 means one
	// per CPU, -1 no bound. MaxValidationsPerCaller bounds those of one
	// caller (0: half) and ValidationTimeout one validation, the wait for
	// a slot included (0: 10 s); see gateway.Config.
	MaxValidations          int
	MaxValidationsPerCaller int
	ValidationTimeout       time.Duration
	// Store configures the store; Store.Dir is the data directory. Its
	// Logger and Registerer are set by the node.
	Store pebble.Config
	// StoreURL, if set, selects the JetStream backend instead of Pebble:
	// "nats://host:4222[,nats://host2:4222…]", optionally with a query of
	// replicas=N (default 3; 1 for a single server), stream=NAME and the
	// node's NATS credentials and certificates (node/store.go,
	// docs/operations.md). Empty takes the registry file's store setting,
	// if any. Store's Policy and the node's keys apply; Store.Dir then only
	// places the node's local files (audit trail, insight state).
	StoreURL string
	// AnswerRules makes the switch check the level-2 rules (package rules)
	// of every message in the same parse as its XSD, and answer a
	// heenbericht that breaks one itself: the retourbericht (or 325) with
	// 0001 goes to the sender, the heenbericht is not delivered — unless
	// the registry gives its recipient retour: recipient (node/retour.go,
	// retour/README.md). False delivers every valid message.
	AnswerRules bool
	// StUF configures the gemeente side: the StUF-GGk SOAP endpoint and
	// push delivery (node/stuf.go). The zero value runs neither.
	StUF StUFConfig
	// Insight configures stuurinformatie, the dashboard and the samenloop
	// signals (package insight). The zero value runs none of them.
	Insight InsightConfig
	// Security configures encryption at rest and the audit trail
	// (node/security.go).
	Security SecurityConfig
	// BackupDir, if set, is where POST /v1/backup writes backups
	// (node/backup.go), each in a directory of its own named by its UTC
	// time. Empty: the endpoint is not served.
	BackupDir string
	// Logger receives the log of every part.
	Logger zerolog.Logger
}

// Node is a running switch.
type Node struct {
	cfg  Config
	log  zerolog.Logger
	book *routing.Book
	// fileStore is the registry file's store setting at start, to tell a
	// reload that changes it (the store in use stays).
	fileStore string
	set       *xsd.Set
	store     backend       // pebble.Store or jetstream.Store
	local     *pebble.Store // the store when it is on local disk (Pebble); nil on JetStream
	// receptions is where the store keeps the records of messages
	// received for the audit trail's follower; nil without a trail.
	receptions audit.Receptions
	// filings is the store's feed as push delivery's waker reads it.
	filings  store.Feed
	srv      *gateway.Server
	ln       net.Listener
	served   chan error
	metrics  *prometheus.Registry
	front    *front            // the StUF endpoint and push delivery; nil when off
	products *insight.Products // stuurinfo, dashboard, samenloop; nil when off
	// productsDoor is the products' listener of their own
	// (InsightConfig.Addr); nil without one.
	productsDoor *gateway.Door
	ops          *opsView // the operator page's sampler
	// trimmer trims the store's change feed when the products are off and
	// nothing follows it.
	trimmer *store.Trimmer

	keys  *store.Keyring // nil: bodies in the clear
	audit *audit.Log
	trail *audit.Follower // the receptions of the store's feed into the audit trail; nil when unused
	// ledgerSecret makes the keys of the aanleveringen ledger, read from
	// ledgerSecretFile; nil: the check is off (node/aanleveringen.go).
	ledgerSecret     []byte
	ledgerSecretFile string

	closeOnce sync.Once
	closeErr  error
}

// LoadRegistry reads the registry file of cfg, or returns cfg.Registry,
// or builds the dev registry.
func LoadRegistry(cfg Config) (*routing.Registry, error) {
	if cfg.RegistryFile == "" {
		if cfg.Registry != nil {
			return cfg.Registry, nil
		}
		if !cfg.Dev {
			return nil, errors.New("no registry file: one is required outside dev mode")
		}
		return routing.DevRegistry(), nil
	}
	r, err := routing.Load(cfg.RegistryFile)
	if err != nil {
		return nil, fmt.Errorf("loading registry %s: %w", cfg.RegistryFile, err)
	}
	return r, nil
}

// Check loads everything a start would load except the store — registry,
// TLS files, schemas — and reports every problem. It returns a one-line
// summary of what it found.
func Check(cfg Config) (string, error) {
	var errs []error
	reg, err := LoadRegistry(cfg)
	if err != nil {
		errs = append(errs, err)
	} else {
		cfg = cfg.withRegistryStore(reg)
	}
	if cfg.TLSCertFile != "" {
		if _, err := tls.LoadX509KeyPair(cfg.TLSCertFile, cfg.TLSKeyFile); err != nil {
			errs = append(errs, fmt.Errorf("loading TLS certificate %s: %w", cfg.TLSCertFile, err))
		}
		if pem, err := os.ReadFile(cfg.ClientCAFile); err != nil {
			errs = append(errs, fmt.Errorf("reading client CA: %w", err))
		} else if !x509.NewCertPool().AppendCertsFromPEM(pem) {
			errs = append(errs, fmt.Errorf("reading client CA %s: no PEM certificate in it", cfg.ClientCAFile))
		}
	}
	if err := cfg.checkBackend(); err != nil {
		errs = append(errs, err)
	}
	if reg != nil {
		if err := cfg.checkLedgerSecret(reg); err != nil {
			errs = append(errs, err)
		}
	}
	set, err := xsd.Load(xsd.Config{Dir: cfg.Schemas})
	if err != nil {
		errs = append(errs, fmt.Errorf("loading schemas: %w", err))
	} else {
		defer set.Close()
	}
	if err := errors.Join(errs...); err != nil {
		return "", err
	}
	tokens := "off"
	if reg.TokensEnabled() || cfg.Dev {
		tokens = "on"
	}
	stufAddr := "off"
	if cfg.StUF.Addr != "" {
		stufAddr = cfg.StUF.Addr
	}
	pushed := "none"
	if ps := reg.Pushed(); len(ps) > 0 {
		var codes []string
		for _, p := range ps {
			codes = append(codes, p.ID+" → "+p.PushURL)
		}
		pushed = strings.Join(codes, ", ")
	}
	return fmt.Sprintf("%d principals in the registry (tokens %s), %d berichtsoorten in the schemas (%s); API on %s, StUF-GGk endpoint %s, push delivery to %s",
		len(reg.Principals()), tokens, len(set.Soorts()), set.Source(), cfg.Addr, stufAddr, pushed), nil
}

// Start loads the registry and schemas, opens the store and starts serving
// on cfg.Addr. On error everything it opened is closed again.
func Start(ctx context.Context, cfg Config) (_ *Node, err error) {
	n := &Node{cfg: cfg, log: cfg.Logger, served: make(chan error, 1), metrics: prometheus.NewRegistry()}
	defer func() {
		if err != nil {
			n.Close()
		}
	}()
	n.metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg, err := LoadRegistry(cfg)
	if err != nil {
		return nil, err
	}
	cfg = cfg.withRegistryStore(reg)
	n.cfg, n.fileStore = cfg, reg.Store()
	n.book = routing.NewBook(reg)
	if n.set, err = xsd.Load(xsd.Config{Dir: cfg.Schemas}); err != nil {
		return nil, fmt.Errorf("loading schemas: %w", err)
	}
	if err := cfg.checkBackend(); err != nil {
		return nil, err
	}
	if err := cfg.checkLedgerSecret(reg); err != nil {
		return nil, err
	}
	sc := cfg.Store
	sc.Logger, sc.Registerer = cfg.Logger, n.metrics
	if err := n.openSecurity(ctx, &sc); err != nil {
		return nil, err
	}
	o, err := openStore(ctx, cfg, sc, n.audit != nil)
	if err != nil {
		return nil, err
	}
	n.store, n.local, n.receptions, n.filings = o.backend, o.local, o.receptions, o.filings
	if err := n.openLedgerSecret(); err != nil {
		return nil, err
	}
	n.warnAanleveringen(reg)
	receptions, err := n.startTrail(ctx)
	if err != nil {
		return nil, err
	}
	st, set := n.store, n.set
	// The products follow the store's feed; the store port hands them what
	// validation read of each message, so they need not read it again.
	if err := n.startInsight(st); err != nil {
		return nil, err
	}
	var trees *insight.Trees
	if n.products != nil {
		trees = n.products.Trees()
	}
	if err := n.startMonitor(); err != nil {
		return nil, err
	}
	if n.products == nil {
		n.trimmer = store.StartTrimmer(st, n.trailAt(), feedTrimInterval, n.log)
	}
	n.srv, err = gateway.New(gateway.Config{
		Addr: cfg.Addr, AdminAddr: cfg.AdminAddr,
		TLSCertFile: cfg.TLSCertFile, TLSKeyFile: cfg.TLSKeyFile, ClientCAFile: cfg.ClientCAFile,
		AllowTokens:             cfg.Dev || reg.TokensEnabled(),
		MaxValidations:          cfg.MaxValidations,
		MaxValidationsPerCaller: cfg.MaxValidationsPerCaller,
		ValidationTimeout:       cfg.ValidationTimeout,
		Logger:                  cfg.Logger,
		Registerer:              n.metrics, Gatherer: n.metrics,
		Validator: validatorPort{set},
		Router:    routerPort{book: n.book, store: st},
		Store:     storePort{s: st, receptions: receptions, trees: trees},
		Parties:   partiesPort{n.book},
		// The VSP face: VECOZO's REST API over the same pipeline.
		Correlations: correlationPort{st},
		Audit:        n.auditor(),
		Limits:       cfg.Security.Limits,
		Answerer:     answerer(cfg, n.book),
		// TR063 and TR074 for the gemeenten that ask for them.
		Aanleveringen: n.aanleveringen(),
		Ready: []gateway.Check{
			// A shared store stays ready while its cluster elects a leader
			// for less than its grace (jetstream.Store.Ready).
			{Name: "store", Check: st.Ready},
			{Name: "audit", Check: n.auditReady},
			{Name: "schemas", Check: func(context.Context) error {
				if len(set.Soorts()) == 0 {
					return errors.New("no schemas loaded")
				}
				return nil
			}},
		},
	}, slices.Concat(n.insightEndpoints(), n.backupEndpoints(), n.monitorEndpoints())...)
	if err != nil {
		return nil, err
	}
	if n.ln, err = n.srv.Listen(); err != nil {
		return nil, err
	}
	if err := n.startStUF(); err != nil {
		return nil, err
	}
	if err := n.serveInsight(); err != nil {
		return nil, err
	}
	go func() { n.served <- n.srv.Serve(n.ln) }()
	arenas, why := xsd.Arenas()
	n.log.Info().Str("addr", n.ln.Addr().String()).Str("store", cfg.Backend()).Str("data", sc.Dir).Str("schemas", set.Source()).
		Int("principals", len(reg.Principals())).Bool("dev", cfg.Dev).Bool("arenas", arenas).Str("libxml2", why).Msg("started")
	return n, nil
}

// Addr is the address the API listens on.
func (n *Node) Addr() net.Addr { return n.ln.Addr() }

// URL is the API's base URL, e.g. "http://127.0.0.1:8080".
func (n *Node) URL() string {
	scheme := "http"
	if n.cfg.TLSCertFile != "" {
		scheme = "https"
	}
	return scheme + "://" + n.ln.Addr().String()
}

// Served reports an error when serving stops on its own (the listener
// failed); it does not fire for Shutdown.
func (n *Node) Served() <-chan error { return n.served }

// Registry is the registry in force.
func (n *Node) Registry() *routing.Registry { return n.book.Registry() }

// withRegistryStore takes the store and StUF-GGk settings of the registry
// file where the flags left them empty (--store and --stuf-addr win over
// the file), and turns push delivery on when the registry names a push
// endpoint.
func (c Config) withRegistryStore(reg *routing.Registry) Config {
	if c.StoreURL == "" {
		c.StoreURL = reg.Store()
	}
	switch c.StUF.Addr {
	case "":
		c.StUF.Addr = reg.StUFAddr()
	case "off":
		c.StUF.Addr = ""
	}
	// Push delivery runs whenever the registry names a push endpoint: a
	// push_url that nothing honours would leave its party's messages
	// waiting unseen.
	c.StUF.Push = c.StUF.Push || len(reg.Pushed()) > 0
	return c
}

// AdminAddr is the address the admin listener (Config.AdminAddr) is bound
// to, once it is; "" before, or without one.
func (n *Node) AdminAddr() string {
	if a := n.srv.AdminAddr(); a != nil {
		return a.String()
	}
	return ""
}

// Store is the node's store, for tests and tools that need to look inside.
func (n *Node) Store() store.Store { return n.store }

// Reload replaces the registry from its file; an invalid file keeps the
// registry in force and returns every problem. Messages are untouched.
func (n *Node) Reload() error {
	if n.cfg.RegistryFile == "" {
		return errors.New("the registry is built in, not read from a file; nothing to reload")
	}
	if err := n.book.Reload(n.cfg.RegistryFile); err != nil {
		return err
	}
	if err := n.reloadSecurity("registry reloaded"); err != nil {
		return err
	}
	n.warnAanleveringen(n.book.Registry())
	if st := n.book.Registry().Store(); st != n.fileStore {
		n.log.Warn().Msg("the registry's store setting changed; the store in use stays until the next start")
	}
	n.log.Info().Int("principals", len(n.book.Registry().Principals())).Msg("registry reloaded")
	return nil
}

// Shutdown is the graceful stop: the gateway stops accepting and finishes
// the requests in flight (until ctx ends), then the schemas and the store
// close — the store last.
func (n *Node) Shutdown(ctx context.Context) error {
	var errs []error
	if err := n.stopStUF(ctx, true); err != nil {
		errs = append(errs, err)
	}
	if err := n.srv.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("shutting down the gateway: %w", err))
	}
	if err := <-n.served; err != nil {
		errs = append(errs, fmt.Errorf("serving: %w", err))
	}
	n.stopTrail() // no more puts: the last receptions reach the trail now
	if err := n.stopInsight(ctx); err != nil {
		errs = append(errs, err)
	}
	n.served <- nil // for a later Close or Shutdown
	if err := n.close(ctx); err != nil {
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		n.log.Info().Msg("stopped")
	}
	return errors.Join(errs...)
}

// Close releases whatever is open, the store last, without waiting for
// requests in flight. It is safe on a partly started node and more than
// once.
func (n *Node) Close() error { return n.close(context.Background()) }

// close is Close that waits for validations still running (which stop at
// the next element they read) only until ctx ends: a shutdown never waits
// on a parse longer than its grace period.
func (n *Node) close(ctx context.Context) error {
	n.closeOnce.Do(func() {
		var errs []error
		if err := n.stopStUF(context.Background(), false); err != nil {
			errs = append(errs, err)
		}
		if n.srv != nil {
			if err := n.srv.Close(); err != nil {
				errs = append(errs, fmt.Errorf("closing the gateway: %w", err))
			}
		}
		if n.ln != nil {
			n.ln.Close() // Serve may not have started yet
		}
		n.stopTrail()
		n.trimmer.Close()
		if err := n.stopInsight(context.Background()); err != nil {
			errs = append(errs, err)
		}
		if err := n.stopMonitor(); err != nil {
			errs = append(errs, err)
		}
		if n.set != nil {
			if err := n.set.CloseContext(ctx); err != nil {
				n.log.Warn().Err(err).Msg("closing the schemas")
			}
		}
		if n.store != nil {
			if err := n.store.Close(); err != nil {
				errs = append(errs, fmt.Errorf("closing the store: %w", err))
			}
		}
		if err := n.closeSecurity(); err != nil {
			errs = append(errs, err)
		}
		n.closeErr = errors.Join(errs...)
	})
	return n.closeErr
}
