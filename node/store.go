package node

import (
	"context"
	"fmt"

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

// openStore opens the backend of cfg with the store settings of sc. A
// Pebble store is returned as itself too (nil on JetStream), for what only
// a store on local disk does: receptions on the feed for the audit trail,
// and checkpoints.
func openStore(ctx context.Context, cfg Config, sc pebble.Config) (backend, *pebble.Store, error) {
	if cfg.Backend() == "pebble" {
		p, err := pebble.Open(ctx, sc)
		if err != nil {
			return nil, nil, fmt.Errorf("opening store %s: %w", sc.Dir, err)
		}
		return p, p, nil
	}
	jc, err := jetstream.ParseURL(cfg.StoreURL)
	if err != nil {
		return nil, nil, err
	}
	jc.Logger, jc.Keys, jc.Registerer = sc.Logger, sc.Keys, sc.Registerer
	jc.Policy = sc.Policy
	js, err := jetstream.Open(ctx, jc)
	if err != nil {
		return nil, nil, fmt.Errorf("opening JetStream store %s: %w", jc.URL, err)
	}
	return js, nil, nil
}
