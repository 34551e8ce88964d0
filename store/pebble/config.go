package pebble

import (
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/knooppunt/knooppunt/store"
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
	Keys *store.Keyring

	// Policy is how messages are leased, quarantined and kept.
	store.Policy

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

// Defaults of Config.
const (
	DefaultCommitBatch  = 128
	DefaultQueueDepth   = 1024
	DefaultMemTableSize = 64 << 20
	DefaultCacheSize    = 64 << 20
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
		return fmt.Errorf("store config: %w: %w", store.ErrInvalid, err)
	}
	return nil
}
