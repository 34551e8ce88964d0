package store

import (
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// Config configures a Pebble store. The zero value of every field but Dir
// means its default; Open copies the Config and never changes the caller's.
type Config struct {
	// Dir is the data directory. Required. Open creates it if absent,
	// opens it if it holds a store, and refuses anything else.
	Dir string
	// FS is the file system; nil means the operating system's. Tests use
	// vfs.NewMem or vfs.NewCrashableMem.
	FS vfs.FS
	// Logger receives the store's and Pebble's log lines. Default: a
	// disabled logger.
	Logger zerolog.Logger
	// Registerer, if set, receives the store's Prometheus collectors.
	Registerer prometheus.Registerer
	// Now is the clock. Default: time.Now.
	Now func() time.Time
	// Keys, if set, seals message bodies with AES-256-GCM under its active
	// key (encryption at rest, see seal.go). Nil stores them in the clear,
	// as in --dev. Bodies sealed earlier need their key in the keyring.
	Keys *Keyring

	// Policy is how messages are leased, quarantined and kept.
	Policy

	// CommitBatch is the most operations one synced commit carries.
	// Default 128.
	CommitBatch int
	// QueueDepth is the capacity of the committer's request channel.
	// Default 1024.
	QueueDepth int
	// MemTableSize is Pebble's memtable size in bytes. Default 64 MiB.
	MemTableSize uint64
	// CacheSize is Pebble's block cache in bytes. The dedup, conversation
	// and Ack look-ups of every write read index and filter blocks of the
	// sstables; with Pebble's own 8 MiB default they fall out of the cache
	// under load and are read again. Default 64 MiB.
	CacheSize int64
}

// Policy is how a store delivers and keeps messages: the settings every
// backend (Pebble, JetStream) takes alike. The zero value of each field
// means its default.
type Policy struct {
	// VisibilityTimeout is how long a listed message stays invisible to
	// other polls unless confirmed. Default 5 minutes.
	VisibilityTimeout time.Duration
	// MaxDeliveries is how often a message is listed without Ack before it
	// is quarantined. Default 5.
	MaxDeliveries int
	// PayloadRetention is how long after Ack the payload is kept.
	// Default 24 hours.
	PayloadRetention time.Duration
	// MetadataRetention is how long after Ack metadata, history, dedup and
	// conversation entries are kept. Default 62 days; never less than
	// PayloadRetention.
	MetadataRetention time.Duration
	// JanitorInterval is how often retention and queue compaction run.
	// Default 1 minute.
	JanitorInterval time.Duration
}

// WithDefaults returns p with the default of every zero field filled in.
func (p Policy) WithDefaults() Policy {
	if p.VisibilityTimeout == 0 {
		p.VisibilityTimeout = DefaultVisibilityTimeout
	}
	if p.MaxDeliveries == 0 {
		p.MaxDeliveries = DefaultMaxDeliveries
	}
	if p.PayloadRetention == 0 {
		p.PayloadRetention = DefaultPayloadRetention
	}
	if p.MetadataRetention == 0 {
		p.MetadataRetention = DefaultMetadataRetention
	}
	if p.JanitorInterval == 0 {
		p.JanitorInterval = DefaultJanitorInterval
	}
	return p
}

// Problems lists every problem of p (as given: zero fields mean their
// defaults and are no problem).
func (p Policy) Problems() []error {
	var errs []error
	if p.VisibilityTimeout < 0 {
		errs = append(errs, fmt.Errorf("VisibilityTimeout %s is negative", p.VisibilityTimeout))
	}
	if p.MaxDeliveries < 0 || p.MaxDeliveries > 1000 {
		errs = append(errs, fmt.Errorf("MaxDeliveries %d is outside 1..1000", p.MaxDeliveries))
	}
	if p.PayloadRetention < 0 {
		errs = append(errs, fmt.Errorf("PayloadRetention %s is negative", p.PayloadRetention))
	}
	if p.MetadataRetention < 0 {
		errs = append(errs, fmt.Errorf("MetadataRetention %s is negative", p.MetadataRetention))
	}
	if d := p.WithDefaults(); p.PayloadRetention >= 0 && p.MetadataRetention >= 0 && d.PayloadRetention > d.MetadataRetention {
		errs = append(errs, fmt.Errorf("PayloadRetention %s exceeds MetadataRetention %s", d.PayloadRetention, d.MetadataRetention))
	}
	if p.JanitorInterval < 0 {
		errs = append(errs, fmt.Errorf("JanitorInterval %s is negative", p.JanitorInterval))
	}
	return errs
}

// Defaults of Config.
const (
	DefaultVisibilityTimeout = 5 * time.Minute
	DefaultMaxDeliveries     = 5
	DefaultPayloadRetention  = 24 * time.Hour
	DefaultMetadataRetention = 62 * 24 * time.Hour
	DefaultJanitorInterval   = time.Minute
	DefaultCommitBatch       = 128
	DefaultQueueDepth        = 1024
	DefaultMemTableSize      = 64 << 20
	DefaultCacheSize         = 64 << 20
)

// withDefaults returns a copy of c with defaults filled in.
func (c Config) withDefaults() Config {
	if c.FS == nil {
		c.FS = vfs.Default
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	c.Policy = c.Policy.WithDefaults()
	if c.CommitBatch == 0 {
		c.CommitBatch = DefaultCommitBatch
	}
	if c.QueueDepth == 0 {
		c.QueueDepth = DefaultQueueDepth
	}
	if c.MemTableSize == 0 {
		c.MemTableSize = DefaultMemTableSize
	}
	if c.CacheSize == 0 {
		c.CacheSize = DefaultCacheSize
	}
	return c
}

// Validate reports every problem of c (after defaults) at once.
func (c Config) Validate() error {
	var errs []error
	if c.Dir == "" {
		errs = append(errs, errors.New("Dir is required"))
	}
	errs = append(errs, c.Policy.Problems()...)
	if c.CommitBatch < 0 {
		errs = append(errs, fmt.Errorf("CommitBatch %d is negative", c.CommitBatch))
	}
	if c.QueueDepth < 0 {
		errs = append(errs, fmt.Errorf("QueueDepth %d is negative", c.QueueDepth))
	}
	if c.CacheSize < 0 {
		errs = append(errs, fmt.Errorf("CacheSize %d is negative", c.CacheSize))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("store config: %w: %w", ErrInvalid, err)
	}
	return nil
}
