package node

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/knooppunt/knooppunt/audit"
	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/gateway"
	"github.com/knooppunt/knooppunt/samenloop"
	"github.com/knooppunt/knooppunt/store"
	"github.com/knooppunt/knooppunt/store/pebble"
)

// SecurityConfig configures encryption at rest and the audit trail
// (docs/security.md).
type SecurityConfig struct {
	// KeyFile holds the data keys bodies are sealed with (store.Keyring).
	// Outside Dev, encryption is on by default: an empty KeyFile means
	// "<Store.Dir>.keys", created with a fresh key if absent. Keep it on
	// another volume than the data (a secret mount) by setting it.
	KeyFile string
	// Plaintext switches encryption at rest off outside Dev (not advised;
	// for measurements). In Dev it is off unless KeyFile is set.
	Plaintext bool
	// AuditDir holds the audit trail. Default "<Store.Dir>.audit".
	AuditDir string
	// AuditRetention is how long audit entries are kept; default
	// audit.DefaultRetention. The open trail applies it at start and then
	// every AuditPruneEvery.
	AuditRetention time.Duration
	// AuditPruneEvery is how often retention is applied while the switch
	// runs; default audit.DefaultPruneEvery (daily), negative only at start.
	AuditPruneEvery time.Duration
	// Limits bound each principal's request rate and concurrency on the
	// API and the SOAP front door (gateway.Limits; zero fields take its
	// defaults, negative ones switch a limit off, e.g. for load tests).
	Limits gateway.Limits
	// LedgerSecretFile holds the secret the keys of the aanleveringen
	// ledger are made with (HMAC-SHA-256; at least MinLedgerSecret bytes,
	// mode 0600), for the registry's check_aanleveringen (node/aanleveringen.go).
	// Empty: on the Pebble store "<Store.Dir>/ledger.secret", created on
	// first start; on JetStream, where every node must use the same one,
	// none, and a registry that turns the check on is refused at start.
	LedgerSecretFile string
}

// keyFile returns the key file in force, or "" when bodies are stored in
// the clear.
func (c Config) keyFile() string {
	switch {
	case c.Security.KeyFile != "":
		return c.Security.KeyFile
	case c.Dev || c.Security.Plaintext:
		return ""
	default:
		return c.Store.Dir + ".keys"
	}
}

// openSecurity loads the keyring into sc (creating the default key file on
// first start) and opens the audit trail, pruning it to its retention.
func (n *Node) openSecurity(ctx context.Context, sc *pebble.Config) error {
	if path := n.cfg.keyFile(); path != "" {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) && n.cfg.Security.KeyFile == "" {
			id, err := store.AddKey(path, time.Now())
			if err != nil {
				return fmt.Errorf("creating key file: %w", err)
			}
			n.log.Info().Str("key_file", path).Str("key", id).Msg("created a data key for encryption at rest")
		}
		keys, err := store.LoadKeyring(path)
		if err != nil {
			return err
		}
		sc.Keys, n.keys = keys, keys
	} else {
		n.log.Warn().Msg("encryption at rest is off: message bodies are stored in the clear")
	}
	l, err := audit.Open(audit.Config{Dir: n.cfg.auditDir(), Retention: n.cfg.Security.AuditRetention,
		PruneEvery: n.cfg.Security.AuditPruneEvery, Logger: n.log})
	if err != nil {
		return err
	}
	n.audit = l
	if _, err := l.Prune(ctx); err != nil {
		return err
	}
	return nil
}

// auditor is the gateway's audit port.
func (n *Node) auditor() gateway.Auditor {
	if n.audit == nil {
		return nil
	}
	return auditPort{log: n.audit, follow: n.trail}
}

// Audit is the node's audit trail.
func (n *Node) Audit() *audit.Log { return n.audit }

// reloadSecurity re-reads the key file (a rotated key seals new writes
// from now on) and records the configuration change.
func (n *Node) reloadSecurity(what string) error {
	var errs []error
	rotated := ""
	if n.keys != nil {
		before := n.keys.Active()
		if err := n.keys.Reload(); err != nil {
			errs = append(errs, fmt.Errorf("reloading keys: %w", err))
		} else if after := n.keys.Active(); after != before {
			rotated = "active key " + after // a key id, not key material
		}
	}
	if n.audit != nil {
		if _, err := n.audit.Append(context.Background(), audit.Entry{Principal: "operator", Action: audit.ConfigChanged, Detail: what}); err != nil {
			errs = append(errs, err)
		}
		if rotated != "" {
			if _, err := n.audit.Append(context.Background(), audit.Entry{Principal: "operator", Action: audit.KeysRotated, Detail: rotated}); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// closeSecurity closes the audit trail; after the store, so every access
// the store served is recorded.
func (n *Node) closeSecurity() error {
	if n.audit == nil {
		return nil
	}
	return n.audit.Close()
}

// auditSignals wraps the store the samenloop engine puts its signals in,
// recording each new signal as signal-produced (principal "knooppunt", the
// signal's message id) once it is stored. A signal that cannot be recorded
// is reported as not delivered, so the engine retries it on its next run
// (a resend is a duplicate, recorded then). Without a trail p is returned
// as it is. (The products' own listener records their accesses through
// gateway.Server.Audited.)
func (n *Node) auditSignals(p samenloop.Putter) samenloop.Putter {
	if n.audit == nil {
		return p
	}
	return signalRecorder{Putter: p, rec: n.audit}
}

type signalRecorder struct {
	samenloop.Putter
	rec audit.Recorder
}

func (s signalRecorder) Put(ctx context.Context, msg *store.Message) (store.Receipt, error) {
	r, err := s.Putter.Put(ctx, msg)
	if err != nil {
		return r, err
	}
	if _, err := s.rec.Append(context.WithoutCancel(ctx), audit.Entry{Principal: "knooppunt", Action: audit.SignalProduced, MessageID: r.ID.String()}); err != nil {
		return store.Receipt{}, fmt.Errorf("recording the signal in the audit trail: %w", err)
	}
	return r, nil
}

// guardedPipeline is the gateway's pipeline for the StUF-GGk front door
// with the role table and the audit record of POST /v1/berichten
// (gateway.Server.IngestGuarded); the door applies the limits itself,
// before it reads a request (gateway.Server.Admit). The SOAP handler
// passes no remote address, so the entry has none.
type guardedPipeline struct{ srv *gateway.Server }

func (g guardedPipeline) Ingest(ctx context.Context, p gateway.Principal, body []byte, check func(bericht.Header) error) (gateway.Accepted, error) {
	return g.srv.IngestGuarded(ctx, p, "", body, check)
}
