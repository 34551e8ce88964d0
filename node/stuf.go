package node

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/knooppunt/knooppunt/delivery"
	"github.com/knooppunt/knooppunt/gateway"
	"github.com/knooppunt/knooppunt/routing"
	"github.com/knooppunt/knooppunt/stuf"
)

// StUFConfig configures the gemeente side: the StUF-GGk SOAP endpoint and
// push delivery. The zero value runs neither.
type StUFConfig struct {
	// Addr, if set, is where the StUF-GGk SOAP endpoint (ggk_Di01,
	// ggk_Du01, Fo01) listens, with the API's TLS settings and
	// authentication. It is a listener of its own, as Digikoppeling
	// endpoints usually are. Empty takes the registry's stuf_addr; "off"
	// runs none whatever the registry says.
	Addr string
	// Push runs a delivery worker for every party whose registry entry
	// says delivery: push. It is turned on when the registry at start
	// names any.
	Push bool
	// SignCertFile and SignKeyFile (PEM) are the switch's WS-Security
	// signing certificate and key (RSA or ECDSA): with them every SOAP
	// message the switch sends is signed (Digikoppeling WUS 2W-be-S);
	// without them none is (2W-be).
	SignCertFile, SignKeyFile string
	// ClientCertFile and ClientKeyFile (PEM) are the certificate push
	// delivery presents to endpoints (two-sided TLS). Default: none.
	ClientCertFile, ClientKeyFile string
	// Trust overrides the registry's signing_certificates and
	// require_signature: it names the certificate each party signs its SOAP
	// requests and its answers to pushes with, and whether it must.
	// Default nil: the registry in force decides.
	Trust stuf.Trust
}

// front is the running gemeente side.
type front struct {
	schema *stuf.Schema
	door   *gateway.Door // the SOAP endpoint; nil once stopped
	addr   net.Addr      // where the SOAP endpoint listens; nil without one
	stop   context.CancelFunc
	pushed chan struct{}
	pusher *delivery.Pusher // nil without push delivery
}

// startStUF starts the SOAP endpoint and push delivery as configured.
func (n *Node) startStUF() error {
	c := n.cfg.StUF
	if c.Addr == "" && !c.Push {
		return nil
	}
	f := &front{}
	n.front = f
	var signer *stuf.Signer
	if c.SignCertFile != "" {
		var err error
		if signer, err = stuf.LoadSigner(c.SignCertFile, c.SignKeyFile); err != nil {
			return err
		}
	}
	trust := c.Trust
	if trust == nil {
		trust = registryTrust{n.book}
	}
	// Reference numbers live in the store: they survive a restart.
	refs := stuf.StoreRefs{S: n.store}
	log := n.log.With().Str("component", "stuf").Logger()
	if c.Addr != "" {
		var err error
		if f.schema, err = stuf.LoadSchema(); err != nil {
			return err
		}
		parties := partiesPort{n.book}
		h, err := stuf.NewHandler(stuf.Config{
			Pipeline: guardedPipeline{n.srv}, Authenticate: n.srv.Authenticate, Admit: n.srv.Admit,
			ActsFor: func(p gateway.Principal, org string) bool { return parties.ActsFor(p, org) },
			Schema:  f.schema, Refs: refs, Signer: signer, Trust: trust,
			Logger: log, Registerer: n.metrics,
		})
		if err != nil {
			return err
		}
		if f.door, err = n.srv.OpenDoor(gateway.DoorConfig{Name: "StUF-GGk endpoint", Addr: c.Addr, Handler: h}); err != nil {
			return err
		}
		f.addr = f.door.Addr()
		log.Info().Str("addr", f.addr.String()).Bool("signing", signer != nil).Msg("StUF-GGk endpoint serving")
	}
	if c.Push {
		client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12}}}
		if c.ClientCertFile != "" {
			kp, err := tls.LoadX509KeyPair(c.ClientCertFile, c.ClientKeyFile)
			if err != nil {
				return fmt.Errorf("loading push client certificate %s: %w", c.ClientCertFile, err)
			}
			client.Transport.(*http.Transport).TLSClientConfig.Certificates = []tls.Certificate{kp}
		}
		// The pusher follows the store's feed to wake its workers as soon
		// as a message is filed for them.
		p, err := delivery.New(delivery.Config{
			Mailbox: n.store, Feed: n.filings, Endpoints: delivery.FromBook(n.book), Client: client,
			Signer: signer, Trust: trust, Refs: refs, Logger: n.log.With().Str("component", "delivery").Logger(), Registerer: n.metrics,
			Audit: n.auditor(), // a push is recorded like a mailbox fetch, before its ack
		})
		if err != nil {
			return err
		}
		ctx, cancel := context.WithCancel(context.Background())
		f.stop, f.pushed, f.pusher = cancel, make(chan struct{}), p
		go func() {
			defer close(f.pushed)
			p.Run(ctx)
		}()
	}
	return nil
}

// StUFURL is the SOAP endpoint's base URL, or "" when it does not run.
func (n *Node) StUFURL() string {
	if n.front == nil || n.front.addr == nil {
		return ""
	}
	scheme := "http"
	if n.cfg.TLSCertFile != "" {
		scheme = "https"
	}
	return scheme + "://" + n.front.addr.String()
}

// stopStUF stops push delivery and the SOAP endpoint: gracefully
// (finishing requests in flight until ctx ends) or at once. Safe to call
// twice.
func (n *Node) stopStUF(ctx context.Context, graceful bool) error {
	f := n.front
	if f == nil {
		return nil
	}
	var errs []error
	if f.stop != nil {
		f.stop()
		<-f.pushed
		f.stop = nil
	}
	if f.door != nil {
		var err error
		if graceful {
			err = f.door.Shutdown(ctx)
		} else {
			err = f.door.Close()
		}
		if err != nil {
			errs = append(errs, err)
		}
		f.door = nil
	}
	if f.schema != nil {
		f.schema.Close()
	}
	return errors.Join(errs...)
}

// registryTrust is the registry's per-party signing certificates and
// require_signature as a stuf.TrustSet, read from the registry in force,
// so a reload applies to the next request.
type registryTrust struct{ book *routing.Book }

// Certificates implements stuf.TrustSet.
func (t registryTrust) Certificates(party string) ([][]byte, bool) {
	p, ok := t.book.Registry().Party(party)
	if !ok {
		return nil, false
	}
	return p.SigningCertificates, p.RequireSignature
}

// Certificate implements stuf.Trust: the first certificate.
func (t registryTrust) Certificate(party string) ([]byte, bool) {
	ders, required := t.Certificates(party)
	if len(ders) == 0 {
		return nil, required
	}
	return ders[0], required
}
