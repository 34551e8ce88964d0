package node

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/knooppunt/knooppunt/gateway"
	"github.com/knooppunt/knooppunt/routing"
	"github.com/knooppunt/knooppunt/rules"
	"github.com/knooppunt/knooppunt/store"
)

// The level-3 check of StatusAanlevering (TR063, TR074) for the gemeenten
// whose registry entry has check_aanleveringen: aanleveringenPort is the
// gateway's Aanleveringen on the rules package and the store's ledger;
// the ledger's keys are HMACs under a secret of the deployment, which
// every node of a cluster must share (docs/rules.md).

// LedgerSecretFile is the name of the ledger secret a node on the Pebble
// store creates in its data directory when none is configured.
const LedgerSecretFile = "ledger.secret"

// MinLedgerSecret is the fewest bytes a ledger secret holds.
const MinLedgerSecret = 32

// ledgerSecretPath is the ledger secret file in force: the configured one,
// else on the Pebble store the one in the data directory; "" on JetStream
// without one.
func (c Config) ledgerSecretPath() string {
	switch {
	case c.Security.LedgerSecretFile != "":
		return c.Security.LedgerSecretFile
	case c.Backend() == "pebble":
		return filepath.Join(c.Store.Dir, LedgerSecretFile)
	}
	return ""
}

// checkLedgerSecret reports, before anything is opened, a configured
// secret file that cannot be used, and a shared store whose nodes have no
// common secret while the registry asks for the check.
func (c Config) checkLedgerSecret(reg *routing.Registry) error {
	if path := c.Security.LedgerSecretFile; path != "" {
		_, err := readLedgerSecret(path)
		return err
	}
	if c.Backend() == "jetstream" && reg.ChecksAanleveringen() {
		return errors.New("the registry has check_aanleveringen on, and on a JetStream store every node needs the same ledger secret: " +
			"give it with --ledger-secret FILE (at least 32 random bytes, mode 0600, e.g. head -c 32 /dev/urandom)")
	}
	return nil
}

// openLedgerSecret loads the ledger secret in force, creating it in the
// data directory on a Pebble store's first start (after the store, which
// wants its directory to itself when it creates it). On JetStream
// without one the check stays off.
func (n *Node) openLedgerSecret() error {
	path := n.cfg.ledgerSecretPath()
	if path == "" {
		return nil
	}
	if n.cfg.Security.LedgerSecretFile == "" {
		created, err := createLedgerSecret(path)
		if err != nil {
			return err
		}
		if created {
			n.log.Info().Str("ledger_secret", path).Msg("created the secret of the aanleveringen ledger")
		}
	}
	secret, err := readLedgerSecret(path)
	if err != nil {
		return err
	}
	n.ledgerSecret, n.ledgerSecretFile = secret, path
	return nil
}

// readLedgerSecret reads the secret file at path: at least
// MinLedgerSecret bytes, used as they are. A file that group or others
// may read is refused (store.CheckMode), as a key file is.
func readLedgerSecret(path string) ([]byte, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("reading the ledger secret: %w", err)
	}
	if err := store.CheckMode(path); err != nil {
		return nil, fmt.Errorf("refusing the ledger secret: %w", err)
	}
	secret, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the ledger secret: %w", err)
	}
	if len(secret) < MinLedgerSecret {
		return nil, fmt.Errorf("the ledger secret %s holds %d bytes, at least %d are needed (head -c 32 /dev/urandom)", path, len(secret), MinLedgerSecret)
	}
	return secret, nil
}

// createLedgerSecret writes MinLedgerSecret random bytes to path, private
// and synced, unless the file exists; created says it did.
func createLedgerSecret(path string) (created bool, err error) {
	if _, err := os.Stat(path); err == nil {
		return false, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("reading the ledger secret: %w", err)
	}
	secret := make([]byte, MinLedgerSecret)
	if _, err := rand.Read(secret); err != nil {
		return false, fmt.Errorf("making the ledger secret: %w", err)
	}
	if _, err := writePrivate(path, secret); err != nil {
		return false, fmt.Errorf("creating the ledger secret: %w", err)
	}
	return true, nil
}

// aanleveringen is the gateway's Aanleveringen when the switch answers
// rules and has a ledger secret, else nil (the check off).
func (n *Node) aanleveringen() gateway.Aanleveringen {
	if !n.cfg.AnswerRules || n.ledgerSecret == nil {
		return nil
	}
	return aanleveringenPort{book: n.book, secret: n.ledgerSecret, ledger: n.store}
}

// warnAanleveringen logs a registry whose check_aanleveringen the node
// cannot honour.
func (n *Node) warnAanleveringen(reg *routing.Registry) {
	switch {
	case !reg.ChecksAanleveringen():
	case !n.cfg.AnswerRules:
		n.log.Warn().Msg("the registry has check_aanleveringen on, but the switch answers no rules (--answer-rules=false): TR063 and TR074 are not checked")
	case n.ledgerSecret == nil:
		n.log.Error().Msg("the registry has check_aanleveringen on, but this node has no ledger secret (--ledger-secret): TR063 and TR074 are not checked until it restarts with one")
	}
}

// aanleveringenPort is the gateway's Aanleveringen on the registry in
// force, the rules package and the store's ledger.
type aanleveringenPort struct {
	book   *routing.Book
	secret []byte
	ledger store.Ledger
}

// Check runs TR063 and TR074 on a 305 or 307 whose gemeente (the
// recipient) has check_aanleveringen, over the tree validation built.
func (ap aanleveringenPort) Check(ctx context.Context, m gateway.Message) ([]gateway.Aanlevering, []gateway.Finding, error) {
	p, ok := ap.book.Registry().Principal(m.Route.Recipient)
	if !ok || !p.CheckAanleveringen {
		return nil, nil, nil
	}
	tree := m.Tree
	if tree == nil {
		return nil, nil, nil
	}
	as := rules.Aanleveringen(ap.secret, m.Header, tree)
	if len(as) == 0 {
		return nil, nil, nil
	}
	if len(as) > store.MaxAanleveringen {
		return nil, nil, &gateway.Error{Kind: gateway.KindInvalid, Code: gateway.CodeTooManyAanleveringen,
			Message: fmt.Sprintf("the message has %d product lines; the aanleveringen check of its gemeente takes at most %d in one message", len(as), store.MaxAanleveringen)}
	}
	found, err := rules.CheckConversation(ctx, ap.secret, m.Header, tree, ledgerPort{ap.ledger})
	if err != nil {
		return nil, nil, storeError(err)
	}
	out := make([]gateway.Aanlevering, 0, len(as))
	for _, a := range as {
		if a.Status != store.StatusDelivered && a.Status != store.StatusRemoved {
			continue // CS058 refuses other values at level 2
		}
		out = append(out, gateway.Aanlevering{Key: a.Key, Status: a.Status, Refused: findingOf(rules.Refusal(tree, a))})
	}
	findings := make([]gateway.Finding, len(found))
	for i, f := range found {
		findings[i] = findingOf(f)
	}
	return out, findings, nil
}

// findingOf is a finding of package rules as the gateway shows it.
func findingOf(f rules.Finding) gateway.Finding {
	return gateway.Finding{Rule: f.Rule, Retourcode: f.Retourcode, Path: f.Path, Line: f.Line, Text: f.Text}
}

// ledgerPort is the store's ledger as rules.CheckConversation asks it.
type ledgerPort struct{ l store.Ledger }

func (lp ledgerPort) Delivered(ctx context.Context, key rules.AanleveringKey) (bool, error) {
	return lp.l.Delivered(ctx, key)
}
