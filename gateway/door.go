package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// Door is a listener of its own beside the API's, serving a handler of
// another package (the StUF-GGk endpoint, the information products'
// listener) with the API's TLS settings (server certificate, client CAs,
// client-certificate policy), timeouts, header limit, error log and count
// of failed handshakes, so
// every front door of the switch is served alike. Open it with
// Server.OpenDoor; stop it with Shutdown or Close.
type Door struct {
	name   string
	ln     net.Listener
	http   *http.Server
	served chan error // Serve's result
	once   sync.Once
	err    error // how serving ended, once it has
}

// DoorConfig describes a Door.
type DoorConfig struct {
	// Name says what the door serves, in errors ("StUF-GGk endpoint").
	Name string
	// Addr is the address to listen on; "127.0.0.1:0" picks a free port.
	Addr string
	// Handler answers every request. It authenticates its callers itself
	// (Server.Authenticate): a Door adds none of the API's checks.
	Handler http.Handler
	// ReadTimeout and WriteTimeout bound reading a request and writing
	// its answer, for doors whose requests or answers may be far larger
	// than a message. Default: the API's (Config).
	ReadTimeout, WriteTimeout time.Duration
}

// OpenDoor binds cfg.Addr and serves cfg.Handler there, in a goroutine of
// its own, until Shutdown or Close.
func (s *Server) OpenDoor(cfg DoorConfig) (*Door, error) {
	if cfg.Handler == nil {
		return nil, fmt.Errorf("opening the %s: no handler", cfg.Name)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("listening for the %s on %s: %w", cfg.Name, cfg.Addr, err)
	}
	d := &Door{name: cfg.Name, ln: ln, http: s.httpServer(cfg.Handler, cfg.ReadTimeout, cfg.WriteTimeout),
		served: make(chan error, 1)}
	serve := ln
	if s.tls != nil {
		serve = tls.NewListener(ln, s.tls.Clone())
		d.http.ConnState = s.handshakes.connState // counted and logged as the API's
	}
	go func() { d.served <- d.http.Serve(serve) }()
	return d, nil
}

// Addr is the address the door listens on.
func (d *Door) Addr() net.Addr { return d.ln.Addr() }

// Shutdown stops the door gracefully: the listener closes and requests in
// flight run to their end until ctx ends; then the remaining connections
// are closed. Safe to call more than once and together with Close.
func (d *Door) Shutdown(ctx context.Context) error {
	var err error
	if serr := d.http.Shutdown(ctx); serr != nil {
		d.http.Close()
		err = fmt.Errorf("shutting down the %s: %w", d.name, serr)
	}
	return errors.Join(err, d.wait())
}

// Close stops the door at once, cutting requests in flight. Safe to call
// twice.
func (d *Door) Close() error {
	d.http.Close() // its error is the listener's, already closed by Serve's end
	return d.wait()
}

// wait returns once Serve has, with what ended it other than a stop.
func (d *Door) wait() error {
	d.once.Do(func() {
		if err := <-d.served; !errors.Is(err, http.ErrServerClosed) {
			d.err = fmt.Errorf("serving the %s: %w", d.name, err)
		}
	})
	return d.err
}
