package insight

import (
	"context"
	"net/http"
	"time"

	"github.com/knooppunt/knooppunt/gateway"
	"github.com/knooppunt/knooppunt/routing"
	"github.com/knooppunt/knooppunt/samenloop"
	"github.com/knooppunt/knooppunt/stuurinfo"
)

// Endpoints are the products' endpoints for the API's listener; the
// gateway checks roles, limits and audit before they run.
func (p *Products) Endpoints() []gateway.Endpoint {
	info, sl := p.Handlers()
	return []gateway.Endpoint{
		{Method: http.MethodGet, Pattern: "/v1/stuurinfo", Handler: info},
		{Method: http.MethodGet, Pattern: "/v1/stuurinfo/nza", Handler: info},
		{Method: http.MethodGet, Pattern: "/dashboard", Handler: info},
		{Method: http.MethodPost, Pattern: "/v1/samenloop/wlz-register", Handler: sl, MaxBodyBytes: samenloop.MaxRegisterBytes},
		{Method: http.MethodPost, Pattern: "/v1/samenloop/run", Handler: sl},
	}
}

// Mux serves the products' endpoints on a listener of their own; the
// caller wraps it with the gateway's audit.
func (p *Products) Mux() *http.ServeMux {
	info, sl := p.Handlers()
	mux := http.NewServeMux()
	mux.Handle("/v1/stuurinfo", info)
	mux.Handle("/v1/stuurinfo/", info)
	mux.Handle("/dashboard", info)
	mux.Handle("/v1/samenloop/", sl)
	return mux
}

// Handlers builds the stuurinformatie/dashboard handler and the samenloop
// handler; each checks the caller itself too (a gemeente sees its own
// rows, samenloop is for operators), behind the gateway's role table.
func (p *Products) Handlers() (info, sl http.Handler) {
	book, caller := p.cfg.Book, p.cfg.Caller
	principal := func(r *http.Request) (stuurinfo.Principal, bool) {
		gp, ok := caller(r)
		if !ok {
			return stuurinfo.Principal{}, false
		}
		nza := false
		if rp, ok := book.Registry().Principal(gp.ID); ok {
			nza = rp.Role == routing.NZa
		}
		return stuurinfo.Principal{ID: gp.ID, Operator: gp.Role == string(routing.Operator), NZa: nza}, true // auditors read the audit trail only
	}
	info = stuurinfo.Handler(stuurinfo.HandlerConfig{
		Aggregates:   p.agg,
		Authenticate: principal,
		GemeentenOf: func(sp stuurinfo.Principal) []string {
			// A samenwerkingsverband sees the gemeenten it acts for.
			reg := book.Registry()
			own := []string{sp.ID}
			rp, ok := reg.Principal(sp.ID)
			if !ok {
				return own
			}
			for _, q := range reg.Principals() {
				if q.ID != sp.ID && reg.MayActFor(rp, q.ID) {
					own = append(own, q.ID)
				}
			}
			return own
		},
		Mailboxes: func(sp stuurinfo.Principal) (stuurinfo.MailboxStatus, bool) {
			if !sp.Operator {
				return stuurinfo.MailboxStatus{}, false
			}
			s := p.cfg.Store.Stats()
			return stuurinfo.MailboxStatus{Open: s.Pending, Quarantined: s.Quarantined}, true
		},
		Logger: p.log,
	})
	sl = samenloop.Handler(samenloop.HandlerConfig{
		Engine: p.engine,
		Authenticate: func(r *http.Request) (bool, bool) {
			// Importing and running change state: operators only, not
			// auditors (whom the gateway lets read like operators).
			gp, ok := caller(r)
			if !ok {
				return false, false
			}
			rp, ok := book.Registry().Principal(gp.ID)
			return ok && rp.Role == routing.Operator, true
		},
		Logger: p.log,
	})
	return p.afterCatchingUp(info), p.afterCatchingUp(sl)
}

// catchUpTimeout bounds how long a products request waits for the
// follower to reach the feed's head.
const catchUpTimeout = 5 * time.Second

// afterCatchingUp runs h once the products have handled every message
// stored before the request came in, so a query or a samenloop run right
// after a post sees that post. A follower that cannot catch up within
// catchUpTimeout is answered 503 not-ready with Retry-After.
func (p *Products) afterCatchingUp(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), catchUpTimeout)
		err := p.CaughtUp(ctx)
		cancel()
		if err != nil {
			p.log.Warn().Err(err).Msg("the products did not catch up with the feed in time")
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`{"code":"not-ready","message":"the figures are not yet up to date with every message stored; retry later"}` + "\n"))
			return
		}
		h.ServeHTTP(w, r)
	})
}
