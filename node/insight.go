package node

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/knooppunt/knooppunt/gateway"
	"github.com/knooppunt/knooppunt/insight"
	"github.com/knooppunt/knooppunt/samenloop"
	"github.com/knooppunt/knooppunt/store"
	"github.com/knooppunt/knooppunt/stuurinfo"
)

// InsightConfig configures the information products derived from the
// message flow (package insight): stuurinformatie (with the dashboard and
// the NZa export) and the Wmo–Wlz samenloop signals.
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

// startInsight starts the products on the store's feed when they are on;
// the gateway's store port hands them the trees validation built.
func (n *Node) startInsight(st store.Store) error {
	c := n.cfg.Insight
	if !c.Enabled && c.Addr == "" {
		return nil
	}
	p, err := insight.Start(insight.Config{
		Store: st, Dir: n.cfg.Store.Dir,
		File: c.File, SamenloopFile: c.SamenloopFile, SaveEvery: c.SaveEvery, SamenloopRunAt: c.SamenloopRunAt,
		Signals: n.auditSignals(st), // signal-produced in the audit trail
		Keys:    n.keys,
		Book:    n.book,
		Caller:  n.caller,
		TrailAt: n.trailAt(),
		Logger:  n.log.With().Str("component", "insight").Logger(),
	})
	if err != nil {
		return err
	}
	n.products = p
	return nil
}

// insightEndpoints are the products' endpoints for the API's listener
// (nil when the products are off).
func (n *Node) insightEndpoints() []gateway.Endpoint {
	if n.products == nil {
		return nil
	}
	return n.products.Endpoints()
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

// serveInsight starts the products' own listener, when Insight.Addr asks
// for one, once the gateway exists.
func (n *Node) serveInsight() error {
	if n.products == nil || n.cfg.Insight.Addr == "" {
		return nil
	}
	d, err := n.srv.OpenDoor(gateway.DoorConfig{Name: "information products", Addr: n.cfg.Insight.Addr,
		Handler: n.srv.Audited(n.products.Mux()), // queries, views and imports recorded as on the API
		// A register copy to import or a dashboard to draw may take far
		// longer than a message.
		ReadTimeout: 5 * time.Minute, WriteTimeout: 5 * time.Minute})
	if err != nil {
		return err
	}
	n.productsDoor = d
	n.log.Info().Str("addr", d.Addr().String()).Msg("stuurinfo, dashboard and samenloop serving")
	return nil
}

// InsightURL is the base URL of the products' own listener
// (Insight.Addr), or "" without one.
func (n *Node) InsightURL() string {
	if n.productsDoor == nil {
		return ""
	}
	scheme := "http"
	if n.cfg.TLSCertFile != "" {
		scheme = "https"
	}
	return scheme + "://" + n.productsDoor.Addr().String()
}

// Samenloop is the samenloop engine, or nil when the products are off.
func (n *Node) Samenloop() *samenloop.Engine {
	if n.products == nil {
		return nil
	}
	return n.products.Engine()
}

// Stuurinfo is the stuurinformatie aggregates, or nil when off.
func (n *Node) Stuurinfo() *stuurinfo.Aggregates {
	if n.products == nil {
		return nil
	}
	return n.products.Aggregates()
}

// stopInsight stops the products' listener, then the products, which
// save their state. It must run before the store closes; safe on a node
// without the products and twice.
func (n *Node) stopInsight(ctx context.Context) error {
	p, d := n.products, n.productsDoor
	n.products, n.productsDoor = nil, nil
	var errs []error
	if d != nil {
		if err := d.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if p != nil {
		errs = append(errs, p.Close(ctx))
	}
	return errors.Join(errs...)
}
