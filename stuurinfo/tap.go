package stuurinfo

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/knooppunt/knooppunt/store"
	"github.com/knooppunt/knooppunt/xsd"
)

// Observer receives every newly stored message, on the tap's own goroutine,
// one at a time, in the order the puts returned.
type Observer interface {
	Observe(o *Observation)
}

// ObserverFunc adapts a function to Observer.
type ObserverFunc func(o *Observation)

// Observe calls f(o).
func (f ObserverFunc) Observe(o *Observation) { f(o) }

// TapConfig configures a Tap.
type TapConfig struct {
	// Observers receive the stored messages.
	Observers []Observer
	// Queue bounds the messages waiting for the observers. When it is full
	// the tap drops the observation (counted in Dropped and logged) rather
	// than slow the ingest path down. Default 65536.
	Queue int
	// Interval is how often the observers are handed what was stored
	// since. Handing over in batches instead of waking a goroutine per
	// message keeps the tap from competing with the store's group commit
	// for the CPUs. Default 50 ms.
	Interval time.Duration
	// Logger receives drop counts and lookup failures (codes only).
	Logger zerolog.Logger
}

// Tap is a store.Store that hands every newly stored message to observers
// off the ingest path: Put returns as soon as the inner store's Put
// returned, having only copied the body and appended it to a queue that a
// goroutine of the tap's own drains every Interval. A duplicate resend is
// not observed again.
//
// The tap is not durable: observations queued when the process dies are
// lost, so the aggregates can miss the last moments before a crash (they
// never count a message twice). An ordered event log written by the store
// in the same batch as each change would close that gap; see
// docs/stuurinfo.md.
type Tap struct {
	store.Store
	cfg     TapConfig
	mu      sync.Mutex
	pending []*Observation
	closed  bool
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
	dropped atomic.Int64
	handled atomic.Int64
}

// NewTap wraps inner and starts the goroutine that feeds the observers.
func NewTap(inner store.Store, cfg TapConfig) *Tap {
	if cfg.Queue <= 0 {
		cfg.Queue = 65536
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 50 * time.Millisecond
	}
	t := &Tap{Store: inner, cfg: cfg, stop: make(chan struct{}), done: make(chan struct{})}
	go t.run()
	return t
}

// Put stores msg in the inner store and queues it, with a copy of its
// body, for the observers.
func (t *Tap) Put(ctx context.Context, msg *store.Message) (store.Receipt, error) {
	return t.PutTree(ctx, msg, nil)
}

// PutTree is Put for a message whose validation built tree: the
// observers read the tree, which holds no reference to msg.Body, so the
// body is not copied. A nil tree is Put.
func (t *Tap) PutTree(ctx context.Context, msg *store.Message, tree *xsd.Tree) (store.Receipt, error) {
	rc, err := t.Store.Put(ctx, msg)
	if err != nil || rc.Duplicate {
		return rc, err
	}
	received := msg.Received
	if received.IsZero() {
		received = time.Now() // what the store stamped, to the millisecond; no read back
	}
	o := &Observation{ID: rc.ID, Soort: msg.Soort, Sender: msg.Sender, Recipient: msg.Recipient,
		Received: received, Answers: msg.Answers, Tree: tree}
	if tree == nil {
		o.Body = append([]byte(nil), msg.Body...)
	}
	t.mu.Lock()
	full := len(t.pending) >= t.cfg.Queue
	if !t.closed && !full {
		t.pending = append(t.pending, o)
	}
	t.mu.Unlock()
	if full {
		if t.dropped.Add(1)%1000 == 1 {
			t.cfg.Logger.Warn().Int64("dropped", t.dropped.Load()).Msg("stuurinfo tap queue full: observations dropped")
		}
	}
	return rc, nil
}

func (t *Tap) run() {
	defer close(t.done)
	tick := time.NewTicker(t.cfg.Interval)
	defer tick.Stop()
	var batch []*Observation
	for {
		stopping := false
		select {
		case <-t.stop:
			stopping = true
		case <-tick.C:
		}
		t.mu.Lock()
		batch, t.pending = t.pending, batch[:0]
		t.mu.Unlock()
		for i, o := range batch {
			t.observe(o)
			batch[i] = nil
		}
		if stopping {
			return
		}
	}
}

// observe completes one observation and hands it to every observer.
func (t *Tap) observe(o *Observation) {
	deliver(context.Background(), t.Store, o, t.cfg.Observers, t.cfg.Logger)
	t.handled.Add(1)
}

// deliver completes o with its heenbericht, read from st, and hands it to
// every observer.
func deliver(ctx context.Context, st store.Store, o *Observation, observers []Observer, log zerolog.Logger) {
	if o.Answers != (store.ID{}) {
		if h, err := st.Meta(ctx, o.Answers); err == nil {
			o.AnswersSoort, o.AnswersReceived = h.Soort, h.Received
		} else {
			log.Debug().Str("code", store.Code(err)).Msg("stuurinfo: heenbericht of an answer not found")
		}
	}
	for _, ob := range observers {
		ob.Observe(o)
	}
}

// Dropped is the number of observations dropped because the queue was full.
func (t *Tap) Dropped() int64 { return t.dropped.Load() }

// Handled is the number of observations handed to the observers.
func (t *Tap) Handled() int64 { return t.handled.Load() }

// Close hands the queued observations to the observers and then closes the
// inner store. A Put racing Close is stored but may go unobserved. It is
// safe to call more than once.
func (t *Tap) Close() error {
	first := false
	t.once.Do(func() {
		first = true
		t.mu.Lock()
		t.closed = true
		t.mu.Unlock()
		close(t.stop)
		<-t.done
	})
	if !first {
		return nil
	}
	return t.Store.Close()
}
