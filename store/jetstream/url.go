package jetstream

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// ParseURL reads a store URL: "nats://host:port[,nats://host:port…]"
// with an optional query — replicas=N (1..5; default 3, 1 for a single
// server), stream=NAME and subject=PREFIX (a stream's subjects are
// PREFIX.>, so two stores share a cluster under two of each), grace=D
// (how long the node stays ready while the stream elects a leader:
// Config.ElectionGrace), node=NAME (Config.Node), and how the node
// authenticates to the servers:
// creds=FILE (a NATS credentials file), ca=FILE (the CA of the servers'
// certificates, for tls:// or servers that require TLS) and cert=FILE with
// key=FILE (the node's client certificate, for mutual TLS). The files must
// be readable at start.
func ParseURL(raw string) (Config, error) {
	servers, query, _ := strings.Cut(raw, "?")
	var jc Config
	if servers == "" {
		return jc, errors.New("store URL: no server; want nats://host:port[,…]")
	}
	for part := range strings.SplitSeq(servers, ",") {
		u, err := url.Parse(strings.TrimSpace(part))
		if err != nil || (u.Scheme != "nats" && u.Scheme != "tls") || u.Host == "" {
			return jc, fmt.Errorf("store URL: %q is not a nats://host:port URL", part)
		}
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
		case "node":
			jc.Node = v[0]
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
			return jc, fmt.Errorf("store URL: unknown parameter %q (replicas, stream, subject, node, grace, creds, ca, cert, key)", k)
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
