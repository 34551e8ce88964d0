package node

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"

	"github.com/knooppunt/knooppunt/delivery"
	"github.com/knooppunt/knooppunt/gateway"
	"github.com/knooppunt/knooppunt/insight"
	"github.com/knooppunt/knooppunt/monitor"
	"github.com/knooppunt/knooppunt/store"
)

// monitorFile is the operator page's history, in the products' state
// folder of the data directory.
const monitorFile = "monitor.json"

// opsView is the running operator page: its sampler and how to stop it.
type opsView struct {
	mon  *monitor.Monitor
	stop context.CancelFunc
	done chan error
}

// startMonitor starts sampling the node's metrics for the operator page
// (/operations), with the history kept in the data directory.
func (n *Node) startMonitor() error {
	dir := filepath.Join(filepath.Clean(n.cfg.Store.Dir), insight.ProductsDir)
	if err := store.MkdirPrivate(dir); err != nil {
		return fmt.Errorf("creating the products' state folder: %w", err)
	}
	book := n.book
	mon, err := monitor.New(monitor.Config{
		Gatherer: n.metrics,
		Store:    n.store,
		Parties: func() []monitor.Party {
			var out []monitor.Party
			for _, p := range book.Registry().Principals() {
				if p.Role.IsParty() {
					out = append(out, monitor.Party{Code: p.ID, Name: p.Name})
				}
			}
			return out
		},
		Push: func() []delivery.EndpointHealth {
			if n.front == nil || n.front.pusher == nil {
				return nil
			}
			return n.front.pusher.Health()
		},
		File:   filepath.Join(dir, monitorFile),
		Logger: n.log.With().Str("component", "monitor").Logger(),
	})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	v := &opsView{mon: mon, stop: cancel, done: make(chan error, 1)}
	go func() { v.done <- mon.Run(ctx) }()
	n.ops = v
	return nil
}

// monitorEndpoints mounts the operator page on the API's listener; the
// gateway lets operators only reach it.
func (n *Node) monitorEndpoints() []gateway.Endpoint {
	if n.ops == nil {
		return nil
	}
	return []gateway.Endpoint{{Method: http.MethodGet, Pattern: "/operations", Handler: n.ops.mon}}
}

// stopMonitor stops the sampler, which saves the history.
func (n *Node) stopMonitor() error {
	if n.ops == nil {
		return nil
	}
	n.ops.stop()
	err := <-n.ops.done
	n.ops = nil
	if err != nil {
		return fmt.Errorf("stopping the operator page: %w", err)
	}
	return nil
}
