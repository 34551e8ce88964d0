package samenloop

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/store"
)

// Putter is where signals go: the switch's store (store.Store satisfies it).
// A signal's dedup key makes a resend of the same change a duplicate, which
// Run counts as already delivered.
type Putter interface {
	Put(ctx context.Context, msg *store.Message) (store.Receipt, error)
}

// Config configures an Engine.
type Config struct {
	// Store receives the signal messages. Required.
	Store Putter
	// Mailbox maps a gemeente to the party whose mailbox receives its
	// signals: its samenwerkingsverband, else itself
	// (routing.Registry.MailboxOf). Default: the gemeente itself.
	Mailbox func(gemeente string) (string, bool)
	// Sender is the party a signal comes from. Default "knooppunt".
	Sender string
	// RunAt is the time of day ("HH:MM", Location) of the daily
	// comparison started by Start. Default "03:00".
	RunAt string
	// Location is the time zone of RunAt and of "today". Default
	// Europe/Amsterdam (UTC if the zone database is missing).
	Location *time.Location
	// Workers bounds the signals put at the same time, so many share one
	// group commit of the store. Default 32.
	Workers int
	// Logger receives counts and error codes, never a BSN. The zero value
	// logs nothing.
	Logger zerolog.Logger
	// Now returns the current time. Default time.Now.
	Now func() time.Time
	// Sealer, if set, encrypts the state file (which holds BSNs) at rest:
	// the node gives it the store's data keys when encryption at rest is
	// on. Nil writes the file in the clear (mode 0600).
	Sealer Sealer
}

// Summary is the result of one comparison.
type Summary struct {
	// Started and Took say when the run began and how long it lasted.
	Started time.Time     `json:"started"`
	Took    time.Duration `json:"took_ns"`
	// Day is the date the comparison held for.
	Day string `json:"day"`
	// Register is the number of persons in the register copy; Active the
	// active Wmo toewijzingen compared with it.
	Register int `json:"register"`
	Active   int `json:"active_toewijzingen"`
	// Signals is the number of new signals put in mailboxes; Gained, Lost
	// and Changed split it by kind.
	Signals int `json:"signals"`
	Gained  int `json:"gained"`
	Lost    int `json:"lost"`
	Changed int `json:"changed"`
	// AlreadySent counts signals the store already held (a rerun after a
	// crash between delivery and bookkeeping).
	AlreadySent int `json:"already_sent"`
}

// Engine keeps the active Wmo toewijzingen and the register copy and
// compares them. It is safe for concurrent use.
type Engine struct {
	cfg Config

	mu       sync.Mutex
	tw       map[twKey]*toewijzing
	byBSN    map[uint32][]twKey
	register Register
	sent     map[sigKey]Entry // what each gemeente was last told per person
	running  sync.Mutex       // one Run at a time
	version  uint64           // counts changes of the state above
	position uint64           // Seq of the last message observed from a shared source

	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// sigKey is a person at a gemeente: one signal covers all of that
// gemeente's toewijzingen for the person.
type sigKey struct {
	bsn      uint32
	gemeente string
}

// ErrNoRegister means Run was asked before any register was imported.
var ErrNoRegister = errors.New("samenloop: no wlz register imported")

// New returns an Engine with cfg's defaults filled in.
func New(cfg Config) (*Engine, error) {
	if cfg.Store == nil {
		return nil, errors.New("samenloop: Config.Store is required")
	}
	if cfg.Mailbox == nil {
		cfg.Mailbox = func(g string) (string, bool) { return g, true }
	}
	if cfg.Sender == "" {
		cfg.Sender = "knooppunt"
	}
	if cfg.RunAt == "" {
		cfg.RunAt = "03:00"
	}
	if _, err := time.Parse("15:04", cfg.RunAt); err != nil {
		return nil, fmt.Errorf("samenloop: RunAt %q is not HH:MM", cfg.RunAt)
	}
	if cfg.Location == nil {
		loc, err := time.LoadLocation("Europe/Amsterdam")
		if err != nil {
			loc = time.UTC
		}
		cfg.Location = loc
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 32
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Engine{
		cfg:   cfg,
		tw:    make(map[twKey]*toewijzing),
		byBSN: make(map[uint32][]twKey),
		sent:  make(map[sigKey]Entry),
	}, nil
}

// Observe learns from one message of the traffic. Only WMO301 and WMO307
// are read; every other berichtsoort, and every iJw message in particular,
// is ignored without a look at its content. It is meant to run off the
// ingest path, after the message is stored.
func (e *Engine) Observe(soort string, body []byte) error { return e.ObserveAt(0, soort, body) }

// ObserveAt is Observe of the message at position seq of the store's
// change feed: a message at or before the position the engine holds
// (saved with its state) is not read again, so a replay after a restart
// changes nothing. Seq 0 has no position.
func (e *Engine) ObserveAt(seq uint64, soort string, body []byte) error {
	return e.observe(seq, soort, func() (parsed, error) { return parseMessage(soort, body) })
}

// ObserveTreeAt is ObserveAt of a message by the tree its validation built
// (xsd.Set.ValidateTree), which saves reading the body a second time.
func (e *Engine) ObserveTreeAt(seq uint64, soort string, t *bericht.Tree) error {
	return e.observe(seq, soort, func() (parsed, error) { return parseTree(soort, t) })
}

// observe learns from the message at seq that read reads.
func (e *Engine) observe(seq uint64, soort string, read func() (parsed, error)) error {
	var p parsed
	var err error
	readable := soort == "WMO301" || soort == "WMO307"
	if readable {
		p, err = read()
	}
	// The position moves with the change it covers, under one lock, so a
	// state saved in between never holds one without the other.
	e.mu.Lock()
	defer e.mu.Unlock()
	if seq != 0 {
		if seq <= e.position {
			return nil
		}
		e.position = seq
	}
	if !readable || err != nil {
		return err
	}
	e.version++
	for _, f := range p.facts {
		if soort == "WMO301" {
			e.assign(p, f)
		} else {
			e.stopDelivery(p, f)
		}
	}
	return nil
}

// Position is the Seq of the last message observed with ObserveAt or
// ObserveTreeAt (saved with the state); 0 when the engine was fed without
// positions.
func (e *Engine) Position() uint64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.position
}

// assign creates or replaces a toewijzing from a 301 product line.
func (e *Engine) assign(p parsed, f fact) {
	k := twKey{gemeente: p.gemeente, nummer: f.nummer}
	t, ok := e.tw[k]
	if !ok {
		t = &toewijzing{}
		e.tw[k] = t
	}
	if !ok || t.bsn != p.bsn { // a number given to another client moves over
		e.byBSN[p.bsn] = append(e.byBSN[p.bsn], k)
	}
	*t = toewijzing{bsn: p.bsn, product: f.product, begin: f.begin, einde: f.einde,
		removed: f.reden == "13" || f.reden == "01"}
}

// stopDelivery ends the toewijzing a 307 line names (by number, else by
// product) at the line's Einddatum.
func (e *Engine) stopDelivery(p parsed, f fact) {
	for _, k := range e.byBSN[p.bsn] {
		t := e.tw[k]
		if k.gemeente != p.gemeente || t.bsn != p.bsn {
			continue
		}
		if f.hasNr && k.nummer != f.nummer || !f.hasNr && t.product != f.product {
			continue
		}
		if t.einde == 0 || f.einde < t.einde {
			t.einde = f.einde
		}
	}
}

// Import replaces the register copy with reg (not merged with the
// previous one).
func (e *Engine) Import(reg Register) {
	e.mu.Lock()
	e.register = reg
	e.version++
	e.mu.Unlock()
}

// Run compares the register copy with the toewijzingen active today and
// puts a signal for every change since the last signal to the same
// gemeente about the same person. A rerun without changes sends nothing.
func (e *Engine) Run(ctx context.Context) (Summary, error) {
	e.running.Lock()
	defer e.running.Unlock()
	now := e.cfg.Now().In(e.cfg.Location)
	today := dayOf(now)
	sum := Summary{Started: now, Day: today.String()}

	e.mu.Lock()
	if e.register == nil {
		e.mu.Unlock()
		return sum, ErrNoRegister
	}
	sigs, active := e.decide(today)
	sum.Register, sum.Active = len(e.register), active
	e.mu.Unlock()

	err := e.deliver(ctx, sigs, today, &sum)
	sum.Took = e.cfg.Now().Sub(now)
	e.cfg.Logger.Info().Int("signals", sum.Signals).Int("gained", sum.Gained).Int("lost", sum.Lost).
		Int("changed", sum.Changed).Int("already_sent", sum.AlreadySent).Int("active_toewijzingen", active).
		Dur("took", sum.Took).Str("code", store.Code(err)).Msg("samenloop run")
	return sum, err
}

// decide walks every person with a toewijzing and returns the changes to
// signal; it forgets what was told about groups no longer active. The
// caller holds e.mu.
func (e *Engine) decide(today day) (sigs []*signal, active int) {
	live := make(map[sigKey]bool, len(e.sent))
	var groups []string
	for bsn, keys := range e.byBSN {
		cur, inReg := e.register[bsn]
		if !inReg {
			cur = Entry{BSN: bsn}
		}
		groups = groups[:0]
		n := 0
		for _, k := range keys { // drop numbers that moved to another client
			if e.tw[k].bsn == bsn {
				keys[n] = k
				n++
			}
		}
		keys = keys[:n]
		if n == 0 {
			delete(e.byBSN, bsn)
			continue
		}
		e.byBSN[bsn] = keys
		for _, k := range keys {
			if e.tw[k].activeOn(today) {
				active++
				if !contains(groups, k.gemeente) {
					groups = append(groups, k.gemeente)
				}
			}
		}
		for _, g := range groups {
			sk := sigKey{bsn: bsn, gemeente: g}
			live[sk] = true
			var over []overlap
			for _, k := range keys {
				t := e.tw[k]
				if k.gemeente == g && t.activeOn(today) && (!cur.Status.wlz() || overlaps(cur, t)) {
					over = append(over, overlap{nummer: k.nummer, tw: *t})
				}
			}
			eff := cur
			if !cur.Status.wlz() || len(over) == 0 {
				eff.Status = StatusGeen
			}
			prev := e.sent[sk]
			kind := change(prev, eff)
			if kind == 0 {
				continue
			}
			if kind == KindVerloren && eff.Afgifte == 0 {
				eff.Afgifte, eff.Ingang, eff.Einde = prev.Afgifte, prev.Ingang, prev.Einde
			}
			if len(over) == 0 {
				for _, k := range keys {
					if t := e.tw[k]; k.gemeente == g && t.activeOn(today) {
						over = append(over, overlap{nummer: k.nummer, tw: *t})
					}
				}
			}
			sort.Slice(over, func(i, j int) bool { return over[i].nummer < over[j].nummer })
			mb, ok := e.cfg.Mailbox(g)
			if !ok {
				mb = g
			}
			eff.BSN = bsn
			sigs = append(sigs, &signal{kind: kind, bsn: bsn, gemeente: g, mailbox: mb, wlz: eff, overlap: over})
		}
	}
	for sk := range e.sent {
		if !live[sk] {
			delete(e.sent, sk)
		}
	}
	return sigs, active
}

// change says what to signal going from what was told (prev) to now (cur),
// or 0 for nothing. StatusGeen and StatusNee both mean no Wlz indicatie.
func change(prev, cur Entry) Kind {
	pw, cw := prev.Status.wlz(), cur.Status.wlz()
	switch {
	case !pw && !cw:
		return 0
	case !pw && cw:
		return KindGewonnen
	case pw && !cw:
		return KindVerloren
	case prev.Status != cur.Status || prev.Afgifte != cur.Afgifte || prev.Ingang != cur.Ingang || prev.Einde != cur.Einde:
		return KindGewijzigd
	}
	return 0
}

// overlaps reports whether the Wlz period of w and the toewijzing's period
// share a day.
func overlaps(w Entry, t *toewijzing) bool {
	if w.Einde != 0 && t.begin != 0 && w.Einde < t.begin {
		return false
	}
	if t.einde != 0 && w.Ingang > t.einde {
		return false
	}
	return true
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// deliver puts the signals with cfg.Workers at a time and records each
// delivered one as told. A failed put leaves its group untold, so the next
// run tries again.
func (e *Engine) deliver(ctx context.Context, sigs []*signal, today day, sum *Summary) error {
	work := make(chan *signal)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for w := 0; w < min(e.cfg.Workers, len(sigs)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s := range work {
				msg := &store.Message{Soort: Berichtsoort, Sender: e.cfg.Sender, Recipient: s.mailbox,
					Identificatie: s.identificatie(), Body: s.xml(e.cfg.Sender, today)}
				rc, err := e.cfg.Store.Put(ctx, msg)
				dup := errors.Is(err, store.ErrDuplicate) || err == nil && rc.Duplicate
				mu.Lock()
				switch {
				case dup:
					sum.AlreadySent++
				case err != nil:
					if firstErr == nil {
						firstErr = fmt.Errorf("putting wlz signal: %w", err)
					}
				default:
					sum.Signals++
					switch s.kind {
					case KindGewonnen:
						sum.Gained++
					case KindVerloren:
						sum.Lost++
					default:
						sum.Changed++
					}
				}
				mu.Unlock()
				if err == nil || dup {
					e.mu.Lock()
					e.sent[sigKey{bsn: s.bsn, gemeente: s.gemeente}] = s.wlz
					e.version++
					e.mu.Unlock()
				}
			}
		}()
	}
feed:
	for _, s := range sigs {
		select {
		case work <- s:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = fmt.Errorf("samenloop run: %w", ctx.Err())
	}
	return firstErr
}

// Version counts the changes of the engine's state (toewijzingen,
// register, signals sent); when it has not moved there is nothing new to
// save.
func (e *Engine) Version() uint64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.version
}

// Start runs the comparison every day at cfg.RunAt until Close.
func (e *Engine) Start() {
	e.once.Do(func() {
		e.stop, e.done = make(chan struct{}), make(chan struct{})
		go e.daily()
	})
}

func (e *Engine) daily() {
	defer close(e.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-e.stop
		cancel()
	}()
	for {
		t := time.NewTimer(e.nextRun(e.cfg.Now()).Sub(e.cfg.Now()))
		select {
		case <-e.stop:
			t.Stop()
			return
		case <-t.C:
		}
		if _, err := e.Run(ctx); err != nil {
			e.cfg.Logger.Warn().Str("code", errCode(err)).Msg("daily samenloop run failed")
		}
	}
}

// nextRun is the first RunAt strictly after now.
func (e *Engine) nextRun(now time.Time) time.Time {
	at, _ := time.Parse("15:04", e.cfg.RunAt)
	now = now.In(e.cfg.Location)
	next := time.Date(now.Year(), now.Month(), now.Day(), at.Hour(), at.Minute(), 0, 0, e.cfg.Location)
	if !next.After(now) {
		next = next.AddDate(0, 0, 1)
	}
	return next
}

// Close stops the daily run. It is safe to call more than once.
func (e *Engine) Close() error {
	e.once.Do(func() {}) // a Start after Close does nothing
	if e.stop != nil {
		select {
		case <-e.stop:
		default:
			close(e.stop)
		}
		<-e.done
	}
	return nil
}

// errCode is the stable code of an error of this package.
func errCode(err error) string {
	var ie *ImportError
	switch {
	case errors.As(err, &ie):
		return CodeRegisterInvalid
	case errors.Is(err, ErrNoRegister):
		return "wlz-register-missing"
	case strings.HasPrefix(err.Error(), "parsing "):
		return "bad-message"
	}
	return store.Code(err)
}
