package node

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/knooppunt/knooppunt/audit"
	"github.com/knooppunt/knooppunt/gateway"
	"github.com/knooppunt/knooppunt/store"
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
	// audit.DefaultRetention.
	AuditRetention time.Duration
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
func (n *Node) openSecurity(ctx context.Context, sc *store.Config) error {
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
	dir := n.cfg.Security.AuditDir
	if dir == "" {
		dir = n.cfg.Store.Dir + ".audit"
	}
	l, err := audit.Open(audit.Config{Dir: dir, Retention: n.cfg.Security.AuditRetention, Logger: n.log})
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
	return n.audit
}

// Audit is the node's audit trail.
func (n *Node) Audit() *audit.Log { return n.audit }

// reloadSecurity re-reads the key file (a rotated key seals new writes
// from now on) and records the configuration change.
func (n *Node) reloadSecurity(what string) error {
	var errs []error
	if n.keys != nil {
		if err := n.keys.Reload(); err != nil {
			errs = append(errs, fmt.Errorf("reloading keys: %w", err))
		}
	}
	if n.audit != nil {
		if _, err := n.audit.Append(context.Background(), audit.Entry{Principal: "operator", Action: audit.ConfigChanged, Detail: what}); err != nil {
			errs = append(errs, err)
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
