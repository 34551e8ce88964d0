package store

import (
	"fmt"
	"time"
)

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

// Defaults of Policy.
const (
	DefaultVisibilityTimeout = 5 * time.Minute
	DefaultMaxDeliveries     = 5
	DefaultPayloadRetention  = 24 * time.Hour
	DefaultMetadataRetention = 62 * 24 * time.Hour
	DefaultJanitorInterval   = time.Minute
)
