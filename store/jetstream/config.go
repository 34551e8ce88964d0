package jetstream

import (
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/knooppunt/knooppunt/store"
)

// Config configures a JetStream store. The zero value of every field but
// URL (or Conn) means its default; Open copies the Config.
type Config struct {
	// URL lists the cluster's servers, comma-separated, e.g.
	// "nats://10.0.0.1:4222,nats://10.0.0.2:4222". Required unless Conn is
	// set.
	URL string
	// Conn, if set, is used instead of dialling URL; Close leaves it open.
	Conn *nats.Conn
	// Options are extra connection options (credentials, TLS) used when
	// dialling URL.
	Options []nats.Option
	// Stream is the name of the JetStream stream that holds everything.
	// Default "KNOOPPUNT".
	Stream string
	// Subject is the subject prefix of the stream, one token. Default "kp".
	Subject string
	// Replicas is the stream's replication factor when Open creates it:
	// 3 in a cluster (the default), 1 for a single server.
	Replicas int
	// Node names this switch node among those sharing the stream, one
	// token (letters, digits, _ and -). A Put with a Reception writes the
	// reception into this node's log in the stream, in the message's own
	// commit, and the node's audit trail follows that log (TrailLog).
	// Each node needs a name of its own that stays the same across its
	// restarts. Empty: no log; receptions are left to the caller.
	Node string

	// Logger receives the store's log lines. Default: a disabled logger.
	Logger zerolog.Logger
	// Registerer, if set, receives the store's Prometheus collectors: the
	// knooppunt_store_* series of the Pebble store and the stream's state
	// as the cluster reports it (metrics.go). Close unregisters them.
	Registerer prometheus.Registerer
	// Keys, if set, seals message bodies with AES-256-GCM under its active
	// key before they are published (encryption at rest, as
	// pebble.Config.Keys does for Pebble: the same envelope and additional
	// data), so no server, replica or backup holds them in the clear.
	// Bodies sealed earlier need their key in the keyring; bodies stored
	// in the clear stay readable.
	Keys *store.Keyring
	// Now is the clock. Default: time.Now.
	Now func() time.Time

	// Policy is how messages are leased, quarantined and kept, as for the
	// Pebble store, with the same defaults. Every node runs the janitor
	// (Policy.JanitorInterval); cursors with compare-and-set keep passes
	// from repeating each other's work.
	store.Policy

	// CommitBatch is the most operations one atomic batch carries.
	// Default 128.
	CommitBatch int
	// MaxInflight is how many atomic batches one client keeps in flight.
	// Default 1: on the 2-vCPU test machine 4 was no faster (median
	// 1,659 against 2,042 Puts/s, 64 writers, R3); it may pay where the
	// network round trip dominates.
	MaxInflight int
	// RequestTimeout bounds one request to the cluster. Default 10 s.
	RequestTimeout time.Duration
	// MustExist makes Open fail with store.ErrNotFound where the stream
	// does not exist, instead of creating it: for tools that only read.
	MustExist bool
	// OpenTimeout is how long Open keeps asking for the stream while the
	// cluster cannot answer yet (it has just started, or is electing a
	// leader). Default 30 s.
	OpenTimeout time.Duration
	// CommitTimeout bounds the wait for the cluster's acknowledgement of
	// one atomic batch. A stream leader that is gone (killed, or cut off
	// from the others) does not answer, and until the timeout every later
	// write of the node waits behind the batch; a batch that timed out is
	// reported failed with its outcome unknown, and every operation is
	// safe to repeat. Default 3 s: far above a synced R3 commit (p99 under
	// 70 ms on the shared test machine), below a leader election (4–9 s).
	CommitTimeout time.Duration
	// ElectionGrace is how long Ready keeps a node that is connected to
	// the cluster ready while the stream cannot store (an election, a lost
	// quorum): each request meanwhile answers 503 store-unavailable, and a
	// load balancer keeps its targets through an election instead of
	// losing all of them at once. Past it the node reports not ready.
	// Default 20 s, above the 4–9 s elections measured here.
	ElectionGrace time.Duration
}

// Defaults of Config.
const (
	DefaultStream         = "KNOOPPUNT"
	DefaultSubject        = "kp"
	DefaultReplicas       = 3
	DefaultCommitBatch    = 128
	DefaultMaxInflight    = 1
	DefaultRequestTimeout = 10 * time.Second
	DefaultOpenTimeout    = 30 * time.Second
	DefaultCommitTimeout  = 3 * time.Second
	DefaultElectionGrace  = 20 * time.Second
)

var tokenRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

func (c Config) withDefaults() Config {
	if c.Stream == "" {
		c.Stream = DefaultStream
	}
	if c.Subject == "" {
		c.Subject = DefaultSubject
	}
	if c.Replicas == 0 {
		c.Replicas = DefaultReplicas
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	c.Policy = c.Policy.WithDefaults()
	if c.CommitBatch == 0 {
		c.CommitBatch = DefaultCommitBatch
	}
	if c.MaxInflight == 0 {
		c.MaxInflight = DefaultMaxInflight
	}
	if c.CommitTimeout == 0 {
		c.CommitTimeout = DefaultCommitTimeout
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	if c.OpenTimeout == 0 {
		c.OpenTimeout = DefaultOpenTimeout
	}
	if c.ElectionGrace == 0 {
		c.ElectionGrace = DefaultElectionGrace
	}
	return c
}

// Validate reports every problem of c (after defaults) at once.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	if c.URL == "" && c.Conn == nil {
		errs = append(errs, errors.New("URL or Conn is required"))
	}
	if !tokenRE.MatchString(c.Stream) {
		errs = append(errs, fmt.Errorf("Stream %q is not a stream name (letters, digits, _ and -)", c.Stream))
	}
	if !tokenRE.MatchString(c.Subject) {
		errs = append(errs, fmt.Errorf("Subject %q is not one subject token (letters, digits, _ and -)", c.Subject))
	}
	if c.Node != "" && !tokenRE.MatchString(c.Node) {
		errs = append(errs, fmt.Errorf("Node %q is not one subject token (letters, digits, _ and -, at most 32)", c.Node))
	}
	if c.Replicas < 1 || c.Replicas > 5 {
		errs = append(errs, fmt.Errorf("Replicas %d is outside 1..5", c.Replicas))
	}
	errs = append(errs, c.Policy.Problems()...)
	if c.CommitBatch < 1 || c.CommitBatch > maxBatchOps {
		errs = append(errs, fmt.Errorf("CommitBatch %d is outside 1..%d", c.CommitBatch, maxBatchOps))
	}
	if c.MaxInflight < 1 || c.MaxInflight > 32 {
		errs = append(errs, fmt.Errorf("MaxInflight %d is outside 1..32", c.MaxInflight))
	}
	if c.CommitTimeout < 0 {
		errs = append(errs, fmt.Errorf("CommitTimeout %s is negative", c.CommitTimeout))
	}
	if c.RequestTimeout < 0 {
		errs = append(errs, fmt.Errorf("RequestTimeout %s is negative", c.RequestTimeout))
	}
	if c.ElectionGrace < 0 {
		errs = append(errs, fmt.Errorf("ElectionGrace %s is negative", c.ElectionGrace))
	}
	if c.OpenTimeout < 0 {
		errs = append(errs, fmt.Errorf("OpenTimeout %s is negative", c.OpenTimeout))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("jetstream store config: %w: %w", store.ErrInvalid, err)
	}
	return nil
}
