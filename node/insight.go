package node

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

// InsightConfig configures the information products derived from the
// message flow: stuurinformatie (with the dashboard and the NZa export) and
// the Wmo–Wlz samenloop signals.
type InsightConfig struct {
	// Enabled runs the products and serves /v1/stuurinfo,
	// /v1/stuurinfo/nza, /dashboard and /v1/samenloop/* on the API's own
	// listener, behind its authentication, endpoint × role table,
	// per-principal limits and audit (gateway.Endpoint). knooppunt serve
	// turns it on by default (--insight).
	Enabled bool
	// Addr, if set, runs the products even without Enabled and serves
	// them on a listener of their own as well (with the API's TLS and
	// credentials; kept for deployments that split the traffic). Empty:
	// the API's listener only.
	Addr string
	// File keeps the stuurinformatie aggregates across restarts; default
	// products/stuurinfo.gob inside the store's data directory.
	File string
	// SamenloopFile keeps the samenloop state (toewijzingen, register copy,
	// signals sent; it holds BSNs) across restarts; default
	// products/samenloop.gob inside the data directory. Each file is locked
	// while the node runs.
	SamenloopFile string
	// SaveEvery is how often both files are saved. Default 1 minute.
	SaveEvery time.Duration
	// SamenloopRunAt is the time of day ("HH:MM", Europe/Amsterdam) of the
	// daily samenloop comparison. Default "03:00".
	SamenloopRunAt string
}

// insight is the running information products.
type insight struct {
	feed     store.Feed
	follower *stuurinfo.Follower // every message stored, from the store's feed
	trees    *treeCache          // what validation read, for the follower
	agg      *stuurinfo.Aggregates
	engine   *samenloop.Engine
	file     string
	slFile   string
	// saved are the versions last saved: an idle switch writes nothing.
	savedAgg, savedEngine uint64
	locks                 []*stateLock // on the two state files while the node runs
	// aggSavedAt and engineSavedAt are feed positions their saved states
	// hold at least; the feed is trimmed up to the smaller (trimmedTo),
	// and never past the audit trail's follower (trailAt, nil when none).
	aggSavedAt, engineSavedAt, trimmedTo uint64
	trailAt                              func() uint64
	door                                 *gateway.Door // the listener of their own; nil without Insight.Addr
	stop                                 chan struct{}
	saved                                chan struct{}
	log                                  zerolog.Logger
	// saving is held by every save (and the trim after it), and by a
	// backup while it copies the state files and the store, so the copies
	// agree: the feed in the store's copy reaches back to the positions
	// the copied files hold.
	saving sync.Mutex
}

// startInsight loads the products' state and starts following the store's
// change feed from the position they saved. It returns the cache of
// validation trees the gateway's store port fills for the follower; nil
// when the products are off.
func (n *Node) startInsight(st store.Store) (_ *treeCache, err error) {
	c := n.cfg.Insight
	if !c.Enabled && c.Addr == "" {
		return nil, nil
	}
	in := &insight{log: n.log.With().Str("component", "insight").Logger(), stop: make(chan struct{}), saved: make(chan struct{}),
		feed: st, trees: newTreeCache(), trailAt: n.trailAt()}
	if in.file, in.slFile, err = stateFiles(n.cfg.Store.Dir, c.File, c.SamenloopFile, in.log); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			in.unlock()
		}
	}()
	for _, f := range []string{in.file, in.slFile} {
		l, err := lockState(f)
		if err != nil {
			return nil, err
		}
		in.locks = append(in.locks, l)
	}
	store.WarnMode(in.log, in.file) // the samenloop state: by its engine's LoadFile
	if in.agg, err = stuurinfo.LoadFile(in.file, nil); err != nil {
		return nil, err
	}
	book := n.book
	in.engine, err = samenloop.New(samenloop.Config{
		Store:   n.auditSignals(st), // signal-produced in the audit trail
		Mailbox: func(g string) (string, bool) { return book.Registry().MailboxOf(g) },
		RunAt:   c.SamenloopRunAt,
		Logger:  in.log,
		Sealer:  n.stateSealer(),
	})
	if err != nil {
		return nil, err
	}
	if err := in.engine.LoadFile(in.slFile); err != nil {
		return nil, err
	}
	observers := []stuurinfo.Observer{
		stuurinfo.ObserverFunc(in.agg.Record),
		stuurinfo.ObserverFunc(func(o *stuurinfo.Observation) {
			var err error
			if o.Tree != nil {
				err = in.engine.ObserveTreeAt(o.Seq, o.Soort, o.Tree)
			} else {
				err = in.engine.ObserveAt(o.Seq, o.Soort, o.Body)
			}
			if err != nil {
				in.log.Debug().Str("soort", o.Soort).Str("id", o.ID.String()).Msg("samenloop could not read a message")
			}
		}),
	}
	in.aggSavedAt, in.engineSavedAt = in.agg.Position(), in.engine.Position()
	in.trimmedTo = min(in.aggSavedAt, in.engineSavedAt)
	// On a shared store every node follows all of the feed, so the
	// products of every node count the traffic of every node.
	from, err := in.followFrom()
	if err != nil {
		return nil, err
	}
	in.follower = stuurinfo.Follow(stuurinfo.FollowerConfig{Feed: st, Store: st, After: from,
		Trees: in.trees.take, Observers: observers, Logger: in.log})
	n.insight = in
	every := c.SaveEvery
	if every <= 0 {
		every = time.Minute
	}
	go in.saveLoop(every)
	in.engine.Start()
	return in.trees, nil
}

// followFrom is where the products resume on the feed: the smaller of
// their saved positions (each skips what it holds). State files without a
// position were fed by an earlier build from the node's own puts and
// already count that history: they resume at the feed's head rather than
// count it again. Without state files the products read everything the
// feed keeps.
func (in *insight) followFrom() (uint64, error) {
	from := min(in.agg.Position(), in.engine.Position())
	if from > 0 {
		return from, nil
	}
	for _, f := range []string{in.file, in.slFile} {
		if _, err := os.Stat(f); err == nil {
			head, err := in.feed.Head(context.Background())
			if err != nil {
				return 0, fmt.Errorf("starting stuurinformatie: %w", err)
			}
			in.log.Info().Uint64("position", head).Msg("state files without a feed position: following from the feed's head")
			return head, nil
		}
	}
	return 0, nil
}

// caughtUp waits, at most until ctx ends, until the products have handled
// every change the store had committed when it was called: a query or a
// samenloop run then sees every message stored before it.
func (in *insight) caughtUp(ctx context.Context) error {
	head, err := in.feed.Head(ctx)
	if err != nil {
		return err
	}
	return in.follower.WaitFor(ctx, head)
}

func (in *insight) saveLoop(every time.Duration) {
	defer close(in.saved)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-in.stop:
			return
		case <-t.C:
			in.save()
		}
	}
}

// save writes the files whose contents changed since the last save,
// logging failures (the next tick tries again), then trims the store's
// feed up to what both files now hold.
func (in *insight) save() {
	in.saving.Lock()
	defer in.saving.Unlock()
	in.saveLocked()
}

// saveLocked is save with in.saving held.
func (in *insight) saveLocked() {
	// A position read before a save is at most the one saved with it.
	aggAt, engineAt := in.agg.Position(), in.engine.Position()
	if v := in.agg.Version(); v != in.savedAgg || aggAt != in.aggSavedAt {
		if err := in.agg.SaveFile(in.file); err != nil {
			in.log.Warn().Err(err).Msg("saving stuurinformatie")
		} else {
			in.savedAgg, in.aggSavedAt = v, aggAt
		}
	}
	if v := in.engine.Version(); v != in.savedEngine || engineAt != in.engineSavedAt {
		if err := in.engine.SaveFile(in.slFile); err != nil {
			in.log.Warn().Err(err).Msg("saving samenloop state")
		} else {
			in.savedEngine, in.engineSavedAt = v, engineAt
		}
	}
	upTo := min(in.aggSavedAt, in.engineSavedAt)
	if in.trailAt != nil {
		upTo = min(upTo, in.trailAt())
	}
	if upTo > in.trimmedTo {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		trimFeed(ctx, in.feed, upTo, in.log)
		cancel()
		in.trimmedTo = upTo
	}
}

// insightEndpoints are the products' endpoints for the API's listener
// (nil when the products are off); the gateway checks roles, limits and
// audit before they run.
func (n *Node) insightEndpoints() []gateway.Endpoint {
	if n.insight == nil {
		return nil
	}
	info, sl := n.insightHandlers()
	return []gateway.Endpoint{
		{Method: http.MethodGet, Pattern: "/v1/stuurinfo", Handler: info},
		{Method: http.MethodGet, Pattern: "/v1/stuurinfo/nza", Handler: info},
		{Method: http.MethodGet, Pattern: "/dashboard", Handler: info},
		{Method: http.MethodPost, Pattern: "/v1/samenloop/wlz-register", Handler: sl, MaxBodyBytes: samenloop.MaxRegisterBytes},
		{Method: http.MethodPost, Pattern: "/v1/samenloop/run", Handler: sl},
	}
}

// caller is the principal of a products request: the one the gateway
// authenticated on the API's listener, else (on the products' own
// listener) the request's credentials checked by the gateway.
func (n *Node) caller(r *http.Request) (gateway.Principal, bool) {
	if p, ok := gateway.PrincipalFrom(r.Context()); ok {
		return p, true
	}
	p, err := n.srv.Authenticate(r)
	return p, err == nil
}

// insightHandlers builds the stuurinformatie/dashboard handler and the
// samenloop handler; each checks the caller itself too (a gemeente sees
// its own rows, samenloop is for operators), behind the role table.
func (n *Node) insightHandlers() (info, sl http.Handler) {
	in := n.insight
	book := n.book
	principal := func(r *http.Request) (stuurinfo.Principal, bool) {
		p, ok := n.caller(r)
		if !ok {
			return stuurinfo.Principal{}, false
		}
		nza := false
		if rp, ok := book.Registry().Principal(p.ID); ok {
			nza = rp.Role == routing.NZa
		}
		return stuurinfo.Principal{ID: p.ID, Operator: p.Role == string(routing.Operator), NZa: nza}, true // auditors read the audit trail only
	}
	info = stuurinfo.Handler(stuurinfo.HandlerConfig{
		Aggregates:   in.agg,
		Authenticate: principal,
		GemeentenOf: func(p stuurinfo.Principal) []string {
			// A samenwerkingsverband sees the gemeenten it acts for.
			reg := book.Registry()
			own := []string{p.ID}
			rp, ok := reg.Principal(p.ID)
			if !ok {
				return own
			}
			for _, q := range reg.Principals() {
				if q.ID != p.ID && reg.MayActFor(rp, q.ID) {
					own = append(own, q.ID)
				}
			}
			return own
		},
		Mailboxes: func(p stuurinfo.Principal) (stuurinfo.MailboxStatus, bool) {
			if !p.Operator {
				return stuurinfo.MailboxStatus{}, false
			}
			s := n.store.Stats()
			return stuurinfo.MailboxStatus{Open: s.Pending, Quarantined: s.Quarantined}, true
		},
		Logger: in.log,
	})
	sl = samenloop.Handler(samenloop.HandlerConfig{
		Engine: in.engine,
		Authenticate: func(r *http.Request) (bool, bool) {
			// Importing and running change state: operators only, not
			// auditors (whom the gateway lets read like operators).
			p, ok := n.caller(r)
			if !ok {
				return false, false
			}
			rp, ok := book.Registry().Principal(p.ID)
			return ok && rp.Role == routing.Operator, true
		},
		Logger: in.log,
	})
	return in.afterCatchingUp(info), in.afterCatchingUp(sl)
}

// catchUpTimeout bounds how long a products request waits for the
// follower to reach the feed's head.
const catchUpTimeout = 5 * time.Second

// afterCatchingUp runs h once the products have handled every message
// stored before the request came in, so a query or a samenloop run right
// after a post sees that post. A follower that cannot catch up within
// catchUpTimeout is answered 503 not-ready with Retry-After.
func (in *insight) afterCatchingUp(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), catchUpTimeout)
		err := in.caughtUp(ctx)
		cancel()
		if err != nil {
			in.log.Warn().Err(err).Msg("the products did not catch up with the feed in time")
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`{"code":"not-ready","message":"the figures are not yet up to date with every message stored; retry later"}` + "\n"))
			return
		}
		h.ServeHTTP(w, r)
	})
}

// serveInsight starts the products' own listener, when Insight.Addr asks
// for one, once the gateway exists.
func (n *Node) serveInsight() error {
	in := n.insight
	if in == nil || n.cfg.Insight.Addr == "" {
		return nil
	}
	info, sl := n.insightHandlers()
	mux := http.NewServeMux()
	mux.Handle("/v1/stuurinfo", info)
	mux.Handle("/v1/stuurinfo/", info)
	mux.Handle("/dashboard", info)
	mux.Handle("/v1/samenloop/", sl)
	d, err := n.srv.OpenDoor(gateway.DoorConfig{Name: "information products", Addr: n.cfg.Insight.Addr,
		Handler: n.srv.Audited(mux), // queries, views and imports recorded as on the API
		// A register copy to import or a dashboard to draw may take far
		// longer than a message.
		ReadTimeout: 5 * time.Minute, WriteTimeout: 5 * time.Minute})
	if err != nil {
		return err
	}
	in.door = d
	in.log.Info().Str("addr", d.Addr().String()).Msg("stuurinfo, dashboard and samenloop serving")
	return nil
}

// InsightURL is the base URL of the products' own listener
// (Insight.Addr), or "" without one.
func (n *Node) InsightURL() string {
	if n.insight == nil || n.insight.door == nil {
		return ""
	}
	scheme := "http"
	if n.cfg.TLSCertFile != "" {
		scheme = "https"
	}
	return scheme + "://" + n.insight.door.Addr().String()
}

// Samenloop is the samenloop engine, or nil when the products are off.
func (n *Node) Samenloop() *samenloop.Engine {
	if n.insight == nil {
		return nil
	}
	return n.insight.engine
}

// Stuurinfo is the stuurinformatie aggregates, or nil when off.
func (n *Node) Stuurinfo() *stuurinfo.Aggregates {
	if n.insight == nil {
		return nil
	}
	return n.insight.agg
}

// stopInsight stops the listener, the daily run and the follower (after it
// caught up with the feed, within 5 s) and saves the products' state. It
// must run before the store closes; safe on a node without the products.
func (n *Node) stopInsight(ctx context.Context) error {
	in := n.insight
	if in == nil {
		return nil
	}
	n.insight = nil
	var errs []error
	if in.door != nil {
		if err := in.door.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	close(in.stop)
	<-in.saved
	// What is stored is in the feed either way; catching up first only
	// saves the next start the work.
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	if err := in.caughtUp(cctx); err != nil && cctx.Err() == nil && !errors.Is(err, store.ErrClosed) {
		in.log.Warn().Err(err).Msg("stuurinformatie did not catch up with the feed before stopping")
	}
	cancel()
	if err := in.follower.Close(); err != nil {
		errs = append(errs, err)
	}
	in.engine.Close()
	if err := in.agg.SaveFile(in.file); err != nil {
		errs = append(errs, err)
	}
	if err := in.engine.SaveFile(in.slFile); err != nil {
		errs = append(errs, err)
	}
	in.unlock()
	return errors.Join(errs...)
}

// unlock releases the locks on the state files.
func (in *insight) unlock() {
	for _, l := range in.locks {
		l.Close()
	}
	in.locks = nil
}

// stateSealer seals the samenloop state file with the store's keyring
// when encryption at rest is on, and is nil (a file in the clear, mode
// 0600) when it is off.
func (n *Node) stateSealer() samenloop.Sealer {
	if n.keys == nil {
		return nil
	}
	return keyringSealer{keys: n.keys}
}

// keyringSealer is samenloop.Sealer over the store's keyring: the active
// key seals, any key of the key file opens, so a rotation (knooppunt keys
// rotate, then a reload) is followed at the next save. The additional
// data names the file's purpose, so a sealed value of another kind cannot
// pass for it.
type keyringSealer struct{ keys *store.Keyring }

// stateAD is the additional data of a sealed samenloop state.
var stateAD = []byte("knooppunt samenloop state")

// Seal seals plain under the keyring's active key.
func (k keyringSealer) Seal(plain []byte) ([]byte, error) {
	return k.keys.Seal(plain, stateAD), nil
}

// Open opens a state sealed by Seal, or one sealed in the earlier form
// (openEarlierState), which the next save replaces.
func (k keyringSealer) Open(v []byte) ([]byte, error) {
	if _, ok := store.SealedKey(v); !ok {
		return openEarlierState(k.keys, v)
	}
	return k.keys.Open(v, stateAD)
}

// openEarlierState reads a samenloop state sealed by earlier builds, which
// wrote the keyring's envelope without its leading magic
// (store.Keyring.OpenUnmarked). It only reads that form; the next save
// writes the keyring's.
func openEarlierState(keys *store.Keyring, v []byte) ([]byte, error) {
	plain, err := keys.OpenUnmarked(v, stateAD)
	if err != nil {
		return nil, fmt.Errorf("opening sealed state of an earlier form: %w", err)
	}
	return plain, nil
}
