// Package insight runs the information products derived from the message
// flow, stuurinformatie and the Wmo–Wlz samenloop signals, as followers of
// the store's change feed: it loads their state files, resumes on the feed
// from the position they saved, saves them as they change, trims the feed
// up to what every follower holds, and serves their endpoints behind the
// gateway once they have caught up with the feed.
package insight

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/knooppunt/knooppunt/gateway"
	"github.com/knooppunt/knooppunt/routing"
	"github.com/knooppunt/knooppunt/samenloop"
	"github.com/knooppunt/knooppunt/store"
	"github.com/knooppunt/knooppunt/stuurinfo"
)

// Config configures the products.
type Config struct {
	// Store is the store whose feed the products follow; it also reads
	// the bytes of messages the feed does not carry. Required.
	Store store.Store
	// Dir is the data directory; the state files default into products/
	// inside it.
	Dir string
	// File keeps the stuurinformatie aggregates across restarts; default
	// products/stuurinfo.gob inside Dir.
	File string
	// SamenloopFile keeps the samenloop state (toewijzingen, register copy,
	// signals sent; it holds BSNs) across restarts; default
	// products/samenloop.gob inside Dir. Each file is locked while the
	// products run.
	SamenloopFile string
	// SaveEvery is how often both files are saved. Default 1 minute.
	SaveEvery time.Duration
	// SamenloopRunAt is the time of day ("HH:MM", Europe/Amsterdam) of the
	// daily samenloop comparison. Default "03:00".
	SamenloopRunAt string
	// Signals stores the samenloop signals (the store, or a wrapper that
	// also records them in the audit trail). Default Store.
	Signals samenloop.Putter
	// Keys, when encryption at rest is on, seal the samenloop state file
	// (it holds BSNs). Nil: the file is written in the clear, mode 0600.
	Keys *store.Keyring
	// Book is the registry of parties: signal mailboxes, the NZa's role,
	// and the gemeenten a samenwerkingsverband acts for. Required.
	Book *routing.Book
	// Caller finds the principal of a products request (the one the
	// gateway authenticated). Required for Handlers and Endpoints.
	Caller func(*http.Request) (gateway.Principal, bool)
	// TrailAt, if set, is the position of the audit trail's follower: the
	// feed is never trimmed past it.
	TrailAt func() uint64
	// Logger receives the products' faults; never personal data.
	Logger zerolog.Logger
}

// Products is the running information products.
type Products struct {
	cfg      Config
	follower *stuurinfo.Follower // every message stored, from the store's feed
	trees    *Trees              // what validation read, for the follower
	agg      *stuurinfo.Aggregates
	engine   *samenloop.Engine
	file     string
	slFile   string
	// saved are the versions last saved: an idle switch writes nothing.
	savedAgg, savedEngine uint64
	locks                 []*stateLock // on the two state files while the products run
	// aggSavedAt and engineSavedAt are feed positions their saved states
	// hold at least; the feed is trimmed up to the smaller (trimmedTo),
	// and never past the audit trail's follower (Config.TrailAt).
	aggSavedAt, engineSavedAt, trimmedTo uint64
	stop                                 chan struct{}
	saved                                chan struct{}
	log                                  zerolog.Logger
	// saving is held by every save (and the trim after it), and by Hold
	// while a backup copies the state files and the store, so the copies
	// agree: the feed in the store's copy reaches back to the positions
	// the copied files hold.
	saving sync.Mutex
	closed bool
}

// Start loads the products' state and starts following the store's change
// feed from the position they saved.
func Start(cfg Config) (_ *Products, err error) {
	p := &Products{cfg: cfg, log: cfg.Logger, stop: make(chan struct{}), saved: make(chan struct{}), trees: NewTrees()}
	if p.file, p.slFile, err = stateFiles(cfg.Dir, cfg.File, cfg.SamenloopFile, p.log); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			p.unlock()
		}
	}()
	for _, f := range []string{p.file, p.slFile} {
		l, err := lockState(f)
		if err != nil {
			return nil, err
		}
		p.locks = append(p.locks, l)
	}
	store.WarnMode(p.log, p.file) // the samenloop state: by its engine's LoadFile
	if p.agg, err = stuurinfo.LoadFile(p.file, nil); err != nil {
		return nil, err
	}
	signals := cfg.Signals
	if signals == nil {
		signals = cfg.Store
	}
	book := cfg.Book
	var sealer samenloop.Sealer
	if cfg.Keys != nil {
		sealer = keyringSealer{keys: cfg.Keys}
	}
	p.engine, err = samenloop.New(samenloop.Config{
		Store:   signals,
		Mailbox: func(g string) (string, bool) { return book.Registry().MailboxOf(g) },
		RunAt:   cfg.SamenloopRunAt,
		Logger:  p.log,
		Sealer:  sealer,
	})
	if err != nil {
		return nil, err
	}
	if err := p.engine.LoadFile(p.slFile); err != nil {
		return nil, err
	}
	observers := []stuurinfo.Observer{
		stuurinfo.ObserverFunc(p.agg.Record),
		stuurinfo.ObserverFunc(func(o *stuurinfo.Observation) {
			var err error
			if o.Tree != nil {
				err = p.engine.ObserveTreeAt(o.Seq, o.Soort, o.Tree)
			} else {
				err = p.engine.ObserveAt(o.Seq, o.Soort, o.Body)
			}
			if err != nil {
				p.log.Debug().Str("soort", o.Soort).Str("id", o.ID.String()).Msg("samenloop could not read a message")
			}
		}),
	}
	p.aggSavedAt, p.engineSavedAt = p.agg.Position(), p.engine.Position()
	p.trimmedTo = min(p.aggSavedAt, p.engineSavedAt)
	// On a shared store every node follows all of the feed, so the
	// products of every node count the traffic of every node.
	from, err := p.followFrom()
	if err != nil {
		return nil, err
	}
	p.follower = stuurinfo.Follow(stuurinfo.FollowerConfig{Feed: cfg.Store, Store: cfg.Store, After: from,
		Trees: p.trees.Take, Observers: observers, Logger: p.log})
	every := cfg.SaveEvery
	if every <= 0 {
		every = time.Minute
	}
	go p.saveLoop(every)
	p.engine.Start()
	return p, nil
}

// Trees is the cache of validation trees the store's port fills for the
// products' follower.
func (p *Products) Trees() *Trees { return p.trees }

// Aggregates is the stuurinformatie.
func (p *Products) Aggregates() *stuurinfo.Aggregates { return p.agg }

// Engine is the samenloop engine.
func (p *Products) Engine() *samenloop.Engine { return p.engine }

// followFrom is where the products resume on the feed: the smaller of
// their saved positions (each skips what it holds). State files without a
// position were fed by an earlier build from the node's own puts and
// already count that history: they resume at the feed's head rather than
// count it again. Without state files the products read everything the
// feed keeps.
func (p *Products) followFrom() (uint64, error) {
	from := min(p.agg.Position(), p.engine.Position())
	if from > 0 {
		return from, nil
	}
	for _, f := range []string{p.file, p.slFile} {
		if _, err := os.Stat(f); err == nil {
			head, err := p.cfg.Store.Head(context.Background())
			if err != nil {
				return 0, fmt.Errorf("starting stuurinformatie: %w", err)
			}
			p.log.Info().Uint64("position", head).Msg("state files without a feed position: following from the feed's head")
			return head, nil
		}
	}
	return 0, nil
}

// CaughtUp waits, at most until ctx ends, until the products have handled
// every change the store had committed when it was called: a query or a
// samenloop run then sees every message stored before it.
func (p *Products) CaughtUp(ctx context.Context) error {
	head, err := p.cfg.Store.Head(ctx)
	if err != nil {
		return err
	}
	return p.follower.WaitFor(ctx, head)
}

func (p *Products) saveLoop(every time.Duration) {
	defer close(p.saved)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.save()
		}
	}
}

// save writes the files whose contents changed since the last save,
// logging failures (the next tick tries again), then trims the store's
// feed up to what both files now hold.
func (p *Products) save() {
	p.saving.Lock()
	defer p.saving.Unlock()
	p.saveLocked()
}

// saveLocked is save with p.saving held.
func (p *Products) saveLocked() {
	// A position read before a save is at most the one saved with it.
	aggAt, engineAt := p.agg.Position(), p.engine.Position()
	if v := p.agg.Version(); v != p.savedAgg || aggAt != p.aggSavedAt {
		if err := p.agg.SaveFile(p.file); err != nil {
			p.log.Warn().Err(err).Msg("saving stuurinformatie")
		} else {
			p.savedAgg, p.aggSavedAt = v, aggAt
		}
	}
	if v := p.engine.Version(); v != p.savedEngine || engineAt != p.engineSavedAt {
		if err := p.engine.SaveFile(p.slFile); err != nil {
			p.log.Warn().Err(err).Msg("saving samenloop state")
		} else {
			p.savedEngine, p.engineSavedAt = v, engineAt
		}
	}
	upTo := min(p.aggSavedAt, p.engineSavedAt)
	if p.cfg.TrailAt != nil {
		upTo = min(upTo, p.cfg.TrailAt())
	}
	if upTo > p.trimmedTo {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		store.TrimLogged(ctx, p.cfg.Store, upTo, p.log)
		cancel()
		p.trimmedTo = upTo
	}
}

// Hold saves the state files and keeps them as saved, and the feed
// untrimmed, until release is called: a backup copies the files it
// returns and then the store, and the copies agree.
func (p *Products) Hold() (files []string, release func()) {
	p.saving.Lock()
	p.saveLocked()
	return []string{p.file, p.slFile}, p.saving.Unlock
}

// Close stops the daily run and the follower (after it caught up with the
// feed, within 5 s) and saves the products' state. It must run before the
// store closes; safe twice.
func (p *Products) Close(ctx context.Context) error {
	p.saving.Lock()
	closed := p.closed
	p.closed = true
	p.saving.Unlock()
	if closed {
		return nil
	}
	close(p.stop)
	<-p.saved
	// What is stored is in the feed either way; catching up first only
	// saves the next start the work.
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	if err := p.CaughtUp(cctx); err != nil && cctx.Err() == nil && !errors.Is(err, store.ErrClosed) {
		p.log.Warn().Err(err).Msg("stuurinformatie did not catch up with the feed before stopping")
	}
	cancel()
	var errs []error
	if err := p.follower.Close(); err != nil {
		errs = append(errs, err)
	}
	p.engine.Close()
	if err := p.agg.SaveFile(p.file); err != nil {
		errs = append(errs, err)
	}
	if err := p.engine.SaveFile(p.slFile); err != nil {
		errs = append(errs, err)
	}
	p.unlock()
	return errors.Join(errs...)
}

// unlock releases the locks on the state files.
func (p *Products) unlock() {
	for _, l := range p.locks {
		l.Close()
	}
	p.locks = nil
}
