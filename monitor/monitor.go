package monitor

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/knooppunt/knooppunt/delivery"
	"github.com/knooppunt/knooppunt/store"
)

// Config configures a Monitor.
type Config struct {
	// Gatherer is the process's metrics registry, sampled for rates,
	// refusals, latencies and the store's gauges. Required.
	Gatherer prometheus.Gatherer
	// Store gives the mailboxes, leases and quarantine. Required.
	Store store.Store
	// Parties lists the parties with a mailbox (the registry in force).
	// Required.
	Parties func() []Party
	// Push reports the push endpoints; nil when the switch pushes to none.
	Push func() []delivery.EndpointHealth
	// File keeps the history across restarts; empty keeps it in memory
	// only.
	File string
	// Interval is the time between samples. Default 10 s.
	Interval time.Duration
	// SaveEvery is the time between saves of the history. Default 1 min:
	// a crash loses at most that much of the operator's history, never a
	// message.
	SaveEvery time.Duration
	// Location is the time zone of the page. Default Europe/Amsterdam.
	Location *time.Location
	// Now returns the current time. Default time.Now.
	Now func() time.Time
	// Logger receives the failures to sample or save.
	Logger zerolog.Logger
}

// Party is a mailbox owner as the page names it.
type Party struct {
	Code, Name string
}

// Monitor keeps a history of the switch's own metrics, in buckets per
// range, and draws the operator's page from it and from the store.
type Monitor struct {
	cfg Config

	// sampling makes samples one at a time: two gathered at once and
	// recorded in the other order would read as a counter reset.
	sampling sync.Mutex
	mu       sync.Mutex
	hist     *history
	last     map[string]float64 // counters at the previous sample
	dirty    bool               // sampled since the last save

	closeOnce sync.Once
}

// New loads the history kept in cfg.File, if any.
func New(cfg Config) (*Monitor, error) {
	if cfg.Gatherer == nil || cfg.Store == nil || cfg.Parties == nil {
		return nil, errors.New("monitor: Gatherer, Store and Parties are required")
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 10 * time.Second
	}
	if cfg.SaveEvery <= 0 {
		cfg.SaveEvery = time.Minute
	}
	if cfg.Location == nil {
		loc, err := time.LoadLocation("Europe/Amsterdam")
		if err != nil {
			return nil, fmt.Errorf("monitor: loading Europe/Amsterdam: %w", err)
		}
		cfg.Location = loc
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	h := newHistory()
	if cfg.File != "" {
		var err error
		if h, err = loadHistory(cfg.File); err != nil {
			return nil, err
		}
	}
	return &Monitor{cfg: cfg, hist: h}, nil
}

// Run samples every Interval and saves every SaveEvery until ctx ends,
// then saves once more.
func (m *Monitor) Run(ctx context.Context) error {
	sample := time.NewTicker(m.cfg.Interval)
	defer sample.Stop()
	save := time.NewTicker(m.cfg.SaveEvery)
	defer save.Stop()
	m.sample()
	for {
		select {
		case <-ctx.Done():
			return m.save()
		case <-sample.C:
			m.sample()
		case <-save.C:
			if err := m.save(); err != nil {
				m.cfg.Logger.Warn().Err(err).Msg("the operator history was not saved")
			}
		}
	}
}

// Close saves the history. It is safe to call more than once.
func (m *Monitor) Close() error {
	var err error
	m.closeOnce.Do(func() { err = m.save() })
	return err
}

// sample reads the metrics once and adds them to the history.
func (m *Monitor) sample() {
	m.sampling.Lock()
	defer m.sampling.Unlock()
	families, err := m.cfg.Gatherer.Gather()
	if err != nil && len(families) == 0 {
		m.cfg.Logger.Warn().Err(err).Msg("sampling the metrics for the operator page")
		return
	}
	r := read(families)
	now := m.cfg.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.hist.add(now, increases(m.last, r.counters), r.gauges)
	m.last = r.counters
	m.dirty = true
}

func (m *Monitor) save() error {
	if m.cfg.File == "" {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.dirty {
		return nil
	}
	if err := m.hist.save(m.cfg.File); err != nil {
		return err
	}
	m.dirty = false
	return nil
}
