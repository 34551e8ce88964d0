package node

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/knooppunt/knooppunt/audit"
	"github.com/knooppunt/knooppunt/store"
	"github.com/knooppunt/knooppunt/store/jetstream"
	"github.com/knooppunt/knooppunt/store/pebble"
)

// backend is the store as the node holds it: the store.Store every part
// uses, plus the reference numbers of the StUF side and the correlations
// of the VSP face. Both the Pebble and the JetStream store are one.
type backend interface {
	store.Store
	store.RefStore
	store.CorrelationStore
	store.Ledger
}

// Backend names the store backend of cfg: "pebble" (the default, in
// Store.Dir) or "jetstream" (StoreURL is a nats:// URL).
func (c Config) Backend() string {
	if c.StoreURL != "" {
		return "jetstream"
	}
	return "pebble"
}

// checkBackend refuses, at start and before anything is opened, a store
// URL that does not say what to connect to. Both backends have every
// capability the node uses.
func (c Config) checkBackend() error {
	if c.Backend() == "pebble" {
		return nil
	}
	_, err := jetstream.ParseURL(c.StoreURL)
	return err
}

// opened is the store a node opened: the backend every part uses, the
// Pebble store as itself (nil on JetStream) for checkpoints, the log of
// receptions its audit trail follows (nil without a trail), and the feed
// as push delivery's waker reads it (without the messages' bytes).
type opened struct {
	backend
	local      *pebble.Store
	receptions audit.Receptions
	filings    store.Feed
}

// openStore opens the backend of cfg with the store settings of sc. With
// trail set the store keeps the record of each message received in the
// message's own commit, for the node's audit trail to follow: on Pebble in
// its feed, on JetStream in the node's log (jetstream.Config.Node, by
// default NodeName).
func openStore(ctx context.Context, cfg Config, sc pebble.Config, trail bool) (opened, error) {
	if cfg.Backend() == "pebble" {
		p, err := pebble.Open(ctx, sc)
		if err != nil {
			return opened{}, fmt.Errorf("opening store %s: %w", sc.Dir, err)
		}
		o := opened{backend: p, local: p, filings: p}
		if trail {
			o.receptions = p
		}
		return o, nil
	}
	jc, err := jetstream.ParseURL(cfg.StoreURL)
	if err != nil {
		return opened{}, err
	}
	jc.Logger, jc.Keys, jc.Registerer = sc.Logger, sc.Keys, sc.Registerer
	jc.Policy = sc.Policy
	switch {
	case !trail:
		jc.Node = ""
	case jc.Node == "":
		jc.Node = NodeName(cfg.auditDir())
	}
	js, err := jetstream.Open(ctx, jc)
	if err != nil {
		return opened{}, fmt.Errorf("opening JetStream store %s: %w", jc.URL, err)
	}
	o := opened{backend: js, filings: js.Filings()}
	if l := js.TrailLog(); l != nil {
		o.receptions = l
	}
	return o, nil
}

// NodeName is the name a node on a shared store goes by when its store
// URL gives none: the host's name and a digest of where its audit trail
// lives (auditDir), so that two nodes on one host differ and a node keeps
// its name across restarts (on platforms that rename a host at each
// start, give it one: node=NAME).
func NodeName(auditDir string) string {
	host, _ := os.Hostname()
	var b strings.Builder
	for _, c := range host {
		if b.Len() == 20 {
			break
		}
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' {
			b.WriteRune(c)
		}
	}
	if b.Len() == 0 {
		b.WriteString("node")
	}
	dir, err := filepath.Abs(auditDir)
	if err != nil {
		dir = auditDir
	}
	sum := sha256.Sum256([]byte(dir))
	return b.String() + "-" + hex.EncodeToString(sum[:4])
}
