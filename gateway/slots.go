package gateway

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// CodeValidationBusy: the message could not be validated within
// Config.ValidationTimeout, waiting for a slot included (503; retry after
// the Retry-After the answer gives).
const CodeValidationBusy = "validation-busy"

// slots shares the validation slots among callers: at most total
// validations run at once, and at most perCaller of them for one caller,
// whose further messages wait for one of its own slots. One caller's many
// or large messages therefore slow only that caller.
type slots struct {
	total     chan struct{}
	perCaller int

	mu      sync.Mutex
	callers map[string]*callerSlots
	started map[uint64]time.Time // when each running validation got its slot
	next    uint64               // key of the next entry in started
	waiting int
}

// callerSlots are one caller's share; refs counts its validations running
// or waiting, so the entry goes when the last one leaves.
type callerSlots struct {
	held chan struct{}
	refs int
}

// newSlots returns the slots for total validations at once (at least one)
// and perCaller of one caller (between one and total).
func newSlots(total, perCaller int) *slots {
	total = max(total, 1)
	return &slots{
		total:     make(chan struct{}, total),
		perCaller: min(max(perCaller, 1), total),
		callers:   map[string]*callerSlots{},
		started:   map[uint64]time.Time{},
	}
}

// acquire waits until caller may validate one message, or until ctx ends.
// The release it returns gives the slot back; it must be called once.
func (sl *slots) acquire(ctx context.Context, caller string, now func() time.Time) (release func(), err error) {
	sl.mu.Lock()
	c := sl.callers[caller]
	if c == nil {
		c = &callerSlots{held: make(chan struct{}, sl.perCaller)}
		sl.callers[caller] = c
	}
	c.refs++
	sl.waiting++
	sl.mu.Unlock()
	leave := func(got bool) {
		sl.mu.Lock()
		defer sl.mu.Unlock()
		if !got {
			sl.waiting--
		}
		if c.refs--; c.refs == 0 {
			delete(sl.callers, caller)
		}
	}

	select {
	case c.held <- struct{}{}:
	case <-ctx.Done():
		leave(false)
		return nil, ctx.Err()
	}
	select {
	case sl.total <- struct{}{}:
	case <-ctx.Done():
		<-c.held
		leave(false)
		return nil, ctx.Err()
	}
	sl.mu.Lock()
	sl.waiting--
	sl.next++
	token := sl.next
	sl.started[token] = now()
	sl.mu.Unlock()
	return func() {
		sl.mu.Lock()
		delete(sl.started, token)
		sl.mu.Unlock()
		<-sl.total
		<-c.held
		leave(true)
	}, nil
}

// SlotUsage is how the validation slots are used, as /readyz reports it.
type SlotUsage struct {
	// Slots is how many validations may run at once, PerCaller how many
	// of one caller.
	Slots     int `json:"slots"`
	PerCaller int `json:"perCaller"`
	// Busy are running, Waiting wait for a slot.
	Busy    int `json:"busy"`
	Waiting int `json:"waiting"`
	// OldestSeconds is how long the longest-running validation has run.
	OldestSeconds float64 `json:"oldestSeconds"`
	// Saturated: every slot is busy, so a new message waits.
	Saturated bool `json:"saturated"`
}

// usage reports the slots' use at now.
func (sl *slots) usage(now time.Time) SlotUsage {
	sl.mu.Lock()
	defer sl.mu.Unlock()
	u := SlotUsage{Slots: cap(sl.total), PerCaller: sl.perCaller, Busy: len(sl.started), Waiting: sl.waiting}
	for _, t := range sl.started {
		u.OldestSeconds = max(u.OldestSeconds, now.Sub(t).Seconds())
	}
	u.Saturated = u.Busy >= u.Slots
	return u
}

// register exports the slots' use as gauges.
func (sl *slots) register(reg prometheus.Registerer, now func() time.Time) error {
	for _, g := range []struct {
		name, help string
		value      func(SlotUsage) float64
	}{
		{"slots_busy", "Validations running.", func(u SlotUsage) float64 { return float64(u.Busy) }},
		{"slots_waiting", "Messages waiting for a validation slot.", func(u SlotUsage) float64 { return float64(u.Waiting) }},
		{"oldest_seconds", "How long the longest-running validation has run.", func(u SlotUsage) float64 { return u.OldestSeconds }},
	} {
		gf := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "knooppunt", Subsystem: "validation", Name: g.name, Help: g.help},
			func() float64 { return g.value(sl.usage(now())) })
		if err := reg.Register(gf); err != nil {
			return fmt.Errorf("registering validation metrics: %w", err)
		}
	}
	return nil
}
