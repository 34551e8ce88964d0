package node

import (
	"bufio"
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/knooppunt/knooppunt/audit"
	"github.com/knooppunt/knooppunt/gateway"
	"github.com/knooppunt/knooppunt/routing"
	"github.com/knooppunt/knooppunt/samenloop"
	"github.com/knooppunt/knooppunt/store"
	"github.com/knooppunt/knooppunt/store/jetstream"
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
	// stuurinfo.gob beside the store's data directory.
	File string
	// SamenloopFile keeps the samenloop state (toewijzingen, register copy,
	// signals sent; it holds BSNs) across restarts; default samenloop.gob
	// beside File.
	SamenloopFile string
	// SaveEvery is how often both files are saved. Default 1 minute.
	SaveEvery time.Duration
	// SamenloopRunAt is the time of day ("HH:MM", Europe/Amsterdam) of the
	// daily samenloop comparison. Default "03:00".
	SamenloopRunAt string
}

// insight is the running information products.
type insight struct {
	tap      *stuurinfo.Tap      // Pebble: the node's own puts
	follower *stuurinfo.Follower // JetStream: every node's puts, from the stream
	agg      *stuurinfo.Aggregates
	engine   *samenloop.Engine
	file     string
	slFile   string
	// saved are the versions last saved: an idle switch writes nothing.
	savedAgg, savedEngine uint64
	srv                   *http.Server
	ln                    net.Listener
	served                chan error
	stop                  chan struct{}
	saved                 chan struct{}
	log                   zerolog.Logger
}

// startInsight wraps the store in the tap that feeds the products (to be
// given to the gateway instead of the store) and loads the aggregates. It
// returns the store unchanged when the products are off.
func (n *Node) startInsight(st store.Store) (store.Store, error) {
	c := n.cfg.Insight
	if !c.Enabled && c.Addr == "" {
		return st, nil
	}
	in := &insight{log: n.log.With().Str("component", "insight").Logger(), stop: make(chan struct{}), saved: make(chan struct{})}
	in.file = c.File
	if in.file == "" {
		in.file = filepath.Join(filepath.Dir(filepath.Clean(n.cfg.Store.Dir)), "stuurinfo.gob")
	}
	in.slFile = c.SamenloopFile
	if in.slFile == "" {
		in.slFile = filepath.Join(filepath.Dir(in.file), "samenloop.gob")
	}
	var err error
	audit.WarnMode(in.log, in.file) // the samenloop state: by its engine's LoadFile
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
				err = in.engine.ObserveTree(o.Soort, o.Tree)
			} else {
				err = in.engine.ObserveAt(o.Seq, o.Soort, o.Body)
			}
			if err != nil {
				in.log.Debug().Str("soort", o.Soort).Str("id", o.ID.String()).Msg("samenloop could not read a message")
			}
		}),
	}
	gst := st
	if js, ok := st.(stream); ok {
		// Several nodes share the stream: each follows all of it, so the
		// products of every node count the traffic of every node.
		from, err := in.followFrom(js)
		if err != nil {
			return nil, err
		}
		in.follower = stuurinfo.Follow(stuurinfo.FollowerConfig{Source: streamSource{js}, Store: st,
			After: from, Observers: observers, Logger: in.log})
	} else {
		in.tap = stuurinfo.NewTap(st, stuurinfo.TapConfig{Logger: in.log, Observers: observers})
		gst = in.tap
	}
	n.insight = in
	every := c.SaveEvery
	if every <= 0 {
		every = time.Minute
	}
	go in.saveLoop(every)
	in.engine.Start()
	return gst, nil
}

// followFrom is where the products resume on the stream: the smaller of
// their saved positions (each skips what it holds). State files without a
// position were fed by a tap — the node's own puts, on Pebble or an
// earlier build — and already count that history: they resume at the
// stream's head rather than count it again. Without state files the
// products read everything the stream keeps.
func (in *insight) followFrom(js stream) (uint64, error) {
	from := min(in.agg.Position(), in.engine.Position())
	if from > 0 {
		return from, nil
	}
	for _, f := range []string{in.file, in.slFile} {
		if _, err := os.Stat(f); err == nil {
			head, err := js.Head(context.Background())
			if err != nil {
				return 0, fmt.Errorf("starting stuurinformatie: %w", err)
			}
			in.log.Info().Uint64("position", head).Msg("state files without a stream position: following from the stream's head")
			return head, nil
		}
	}
	return 0, nil
}

// stream is a store every node shares, which the products follow
// (jetstream.Store).
type stream interface {
	Follow(ctx context.Context, after uint64, fn func(jetstream.Stored) error) error
	Head(ctx context.Context) (uint64, error)
}

// streamSource is the JetStream store as the products' Source.
type streamSource struct{ s stream }

func (ss streamSource) Follow(ctx context.Context, after uint64, fn func(*stuurinfo.Observation) error) error {
	return ss.s.Follow(ctx, after, func(m jetstream.Stored) error {
		return fn(&stuurinfo.Observation{Seq: m.Seq, ID: m.ID, Soort: m.Soort, Sender: m.Sender,
			Recipient: m.Recipient, Received: m.Received, Answers: m.Answers, Body: m.Body})
	})
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
// logging failures (the next tick tries again).
func (in *insight) save() {
	if v := in.agg.Version(); v != in.savedAgg {
		if err := in.agg.SaveFile(in.file); err != nil {
			in.log.Warn().Err(err).Msg("saving stuurinformatie")
		} else {
			in.savedAgg = v
		}
	}
	if v := in.engine.Version(); v != in.savedEngine {
		if err := in.engine.SaveFile(in.slFile); err != nil {
			in.log.Warn().Err(err).Msg("saving samenloop state")
		} else {
			in.savedEngine = v
		}
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
	return info, sl
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
	var err error
	if in.ln, err = net.Listen("tcp", n.cfg.Insight.Addr); err != nil {
		return fmt.Errorf("listening on stuurinfo address %s: %w", n.cfg.Insight.Addr, err)
	}
	in.srv = &http.Server{Handler: n.auditInsight(mux), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 5 * time.Minute,
		WriteTimeout: 5 * time.Minute, IdleTimeout: 120 * time.Second}
	ln := in.ln
	if tc := n.srv.TLSConfig(); tc != nil {
		ln = tls.NewListener(ln, tc)
	}
	in.served = make(chan error, 1)
	go func() { in.served <- in.srv.Serve(ln) }()
	in.log.Info().Str("addr", in.ln.Addr().String()).Msg("stuurinfo, dashboard and samenloop serving")
	return nil
}

// InsightURL is the base URL of the products' own listener
// (Insight.Addr), or "" without one.
func (n *Node) InsightURL() string {
	if n.insight == nil || n.insight.ln == nil {
		return ""
	}
	scheme := "http"
	if n.cfg.TLSCertFile != "" {
		scheme = "https"
	}
	return scheme + "://" + n.insight.ln.Addr().String()
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

// stopInsight stops the listener, the daily run and the tap (the queued
// observations are handed over first) and saves the aggregates. It must
// run before the store closes; safe on a node without the products.
func (n *Node) stopInsight(ctx context.Context) error {
	in := n.insight
	if in == nil {
		return nil
	}
	n.insight = nil
	var errs []error
	if in.srv != nil {
		if err := in.srv.Shutdown(ctx); err != nil && !errors.Is(err, context.Canceled) {
			in.srv.Close()
		}
		if err := <-in.served; err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, fmt.Errorf("serving stuurinfo: %w", err))
		}
	}
	close(in.stop)
	<-in.saved
	in.engine.Close()
	if in.tap != nil {
		in.tap.Close() // drains the queue; the store it wraps is closed by the node (twice is safe)
	}
	if in.follower != nil {
		if err := in.follower.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := in.agg.SaveFile(in.file); err != nil {
		errs = append(errs, err)
	}
	if err := in.engine.SaveFile(in.slFile); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// stateSealer seals the samenloop state file under the store's data keys
// when encryption at rest is on, and is nil (a file in the clear, mode
// 0600) when it is off.
func (n *Node) stateSealer() samenloop.Sealer {
	if n.keys == nil {
		return nil
	}
	return keySealer{keys: n.keys, path: n.cfg.keyFile()}
}

// keySealer is AES-256-GCM under the data keys of the key file: the
// active key of the store's keyring seals, any key in the file opens, so a
// rotation (knooppunt keys rotate) is followed at the next save. The
// store keeps its key material to itself, so this adapter reads the key
// file (store.LoadKeyring's format, "<id> <base64 key>" a line, already
// checked at start) when it seals or opens — once a minute at most.
//
// Sealed form: key-id length (1 byte), key id, 12-byte nonce, ciphertext
// and tag; the additional data names the file's purpose, so a sealed
// value of another kind cannot pass for it.
type keySealer struct {
	keys *store.Keyring
	path string
}

// sealerAD is the additional data of a sealed samenloop state.
var sealerAD = []byte("knooppunt samenloop state")

// aead returns the cipher of key id from the key file, which it refuses
// as the keyring does when group or others may read it.
func (k keySealer) aead(id string) (cipher.AEAD, error) {
	if err := audit.CheckMode(k.path); err != nil {
		return nil, fmt.Errorf("refusing key file: %w", err)
	}
	raw, err := os.ReadFile(k.path)
	if err != nil {
		return nil, fmt.Errorf("reading key file: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		kid, b64, ok := strings.Cut(strings.TrimSpace(sc.Text()), " ")
		if !ok || kid != id {
			continue
		}
		key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
		if err != nil || len(key) != store.KeySize {
			return nil, fmt.Errorf("key %s in the key file is not %d base64-encoded bytes", id, store.KeySize)
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("key %s: %w", id, err)
		}
		return cipher.NewGCM(block)
	}
	return nil, fmt.Errorf("key %q is not in the key file: %w", id, store.ErrSealed)
}

// Seal seals plain under the active key.
func (k keySealer) Seal(plain []byte) ([]byte, error) {
	id := k.keys.Active()
	a, err := k.aead(id)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, 1+len(id)+a.NonceSize()+len(plain)+a.Overhead())
	out = append(append(out, byte(len(id))), id...)
	nonce := make([]byte, a.NonceSize())
	rand.Read(nonce) // crypto/rand.Read never fails (Go 1.24+)
	out = append(out, nonce...)
	return a.Seal(out, nonce, plain, sealerAD), nil
}

// Open opens a value sealed by Seal under any key of the key file.
func (k keySealer) Open(v []byte) ([]byte, error) {
	if len(v) < 1 || len(v) < 1+int(v[0]) {
		return nil, errors.New("sealed state too short")
	}
	id, rest := string(v[1:1+int(v[0])]), v[1+int(v[0]):]
	a, err := k.aead(id)
	if err != nil {
		return nil, err
	}
	if len(rest) < a.NonceSize()+a.Overhead() {
		return nil, errors.New("sealed state too short")
	}
	plain, err := a.Open(nil, rest[:a.NonceSize()], rest[a.NonceSize():], sealerAD)
	if err != nil {
		return nil, fmt.Errorf("opening sealed state under key %s: authentication failed", id)
	}
	return plain, nil
}
