package node

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/knooppunt/knooppunt/routing"
	"github.com/knooppunt/knooppunt/store"
	"github.com/knooppunt/knooppunt/store/jetstream"
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
	_, err := jetstreamConfig(c.StoreURL)
	return err
}

// jetstreamConfig reads a store URL: "nats://host:port[,nats://host:port…]"
// with an optional query — replicas=N (1..5; default 3, 1 for a single
// server), stream=NAME and subject=PREFIX (a stream's subjects are
// PREFIX.>, so two stores share a cluster under two of each), grace=D
// (how long the node stays ready while the stream elects a leader:
// jetstream.Config.ElectionGrace), and how the node authenticates to the
// servers:
// creds=FILE (a NATS credentials file), ca=FILE (the CA of the servers'
// certificates, for tls:// or servers that require TLS) and cert=FILE with
// key=FILE (the node's client certificate, for mutual TLS). The files must
// be readable at start.
func jetstreamConfig(raw string) (jetstream.Config, error) {
	servers, query, _ := strings.Cut(raw, "?")
	var jc jetstream.Config
	if servers == "" {
		return jc, errors.New("store URL: no server; want nats://host:port[,…]")
	}
	if err := routing.CheckStoreURL(servers); err != nil {
		return jc, fmt.Errorf("store URL: %w", err)
	}
	jc.URL = servers
	q, err := url.ParseQuery(query)
	if err != nil {
		return jc, fmt.Errorf("store URL query: %w", err)
	}
	var cert, key string
	for k, v := range q {
		switch k {
		case "replicas":
			if jc.Replicas, err = strconv.Atoi(v[0]); err != nil {
				return jc, fmt.Errorf("store URL: replicas %q is not a number", v[0])
			}
		case "stream":
			jc.Stream = v[0]
		case "subject":
			jc.Subject = v[0]
		case "grace":
			if jc.ElectionGrace, err = time.ParseDuration(v[0]); err != nil || jc.ElectionGrace < 0 {
				return jc, fmt.Errorf("store URL: grace %q is not a duration like 20s", v[0])
			}
		case "creds":
			if err := readable("creds", v[0]); err != nil {
				return jc, err
			}
			jc.Options = append(jc.Options, nats.UserCredentials(v[0]))
		case "ca":
			if err := readable("ca", v[0]); err != nil {
				return jc, err
			}
			jc.Options = append(jc.Options, nats.RootCAs(v[0]))
		case "cert":
			cert = v[0]
		case "key":
			key = v[0]
		default:
			return jc, fmt.Errorf("store URL: unknown parameter %q (replicas, stream, subject, grace, creds, ca, cert, key)", k)
		}
	}
	if (cert == "") != (key == "") {
		return jc, errors.New("store URL: cert and key go together (the node's client certificate for mutual TLS)")
	}
	if cert != "" {
		for _, f := range []struct{ name, path string }{{"cert", cert}, {"key", key}} {
			if err := readable(f.name, f.path); err != nil {
				return jc, err
			}
		}
		jc.Options = append(jc.Options, nats.ClientCert(cert, key))
	}
	return jc, jc.Validate()
}

// readable checks, at start, that a file a store URL names can be read.
func readable(param, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("store URL: %s: %w", param, err)
	}
	return f.Close()
}

// openStore opens the backend of cfg with the store settings of sc.
func openStore(ctx context.Context, cfg Config, sc store.Config) (backend, error) {
	if cfg.Backend() == "pebble" {
		p, err := store.Open(ctx, sc)
		if err != nil {
			return nil, fmt.Errorf("opening store %s: %w", sc.Dir, err)
		}
		return p, nil
	}
	jc, err := jetstreamConfig(cfg.StoreURL)
	if err != nil {
		return nil, err
	}
	jc.Logger, jc.Keys, jc.Registerer = sc.Logger, sc.Keys, sc.Registerer
	jc.Policy = sc.Policy
	js, err := jetstream.Open(ctx, jc)
	if err != nil {
		return nil, fmt.Errorf("opening JetStream store %s: %w", jc.URL, err)
	}
	return js, nil
}
