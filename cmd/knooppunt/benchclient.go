package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// benchClient sends the load tool's requests. The load tool runs on the
// machine whose switch it measures, so what it spends per request is taken
// from the switch: the default client (--client raw) keeps one connection
// per worker and writes each request in one piece, and costs about a third
// of net/http's Transport per request (docs/performance.md); --client
// net/http measures through the standard client instead.
type benchClient interface {
	// do sends one request with the bearer token (and body as XML, if
	// not nil) and returns the answer's status and body.
	do(ctx context.Context, method, path, token string, body []byte) (int, []byte, error)
	close()
}

// newBenchClient returns the --client for --target with the TLS material
// of the flags.
func newBenchClient(o benchOptions, target string) (benchClient, error) {
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--target %q is not an http(s) URL", target)
	}
	var cfg *tls.Config
	if u.Scheme == "https" {
		if cfg, err = benchTLS(o); err != nil {
			return nil, err
		}
	}
	switch o.client {
	case "raw":
		return newRawClient(u, cfg, o.concurrency, o.timeout), nil
	case "net/http":
		tr := &http.Transport{
			MaxIdleConns:        o.concurrency * 2,
			MaxIdleConnsPerHost: o.concurrency * 2,
			MaxConnsPerHost:     o.concurrency * 2,
			DisableCompression:  true,
			IdleConnTimeout:     90 * time.Second,
			TLSClientConfig:     cfg,
		}
		return &stdClient{c: &http.Client{Transport: tr, Timeout: o.timeout}, base: strings.TrimRight(target, "/")}, nil
	}
	return nil, fmt.Errorf("unknown --client %q: want raw or net/http", o.client)
}

// benchTLS is the client's TLS configuration: the CA of --cacert (else the
// system's) and the client certificate of --cert and --key, if given.
func benchTLS(o benchOptions) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.caFile != "" {
		pem, err := os.ReadFile(o.caFile)
		if err != nil {
			return nil, fmt.Errorf("reading CA %s: %w", o.caFile, err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("reading CA %s: no PEM certificate", o.caFile)
		}
	}
	if o.certFile != "" {
		cert, err := tls.LoadX509KeyPair(o.certFile, o.keyFile)
		if err != nil {
			return nil, fmt.Errorf("loading client certificate %s: %w", o.certFile, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// stdClient is --client net/http.
type stdClient struct {
	c    *http.Client
	base string
}

func (s *stdClient) do(ctx context.Context, method, path, token string, body []byte) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/xml")
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := s.c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func (s *stdClient) close() { s.c.CloseIdleConnections() }

// rawClient is --client raw: a pool of kept-alive connections, one per
// concurrent request. It speaks only what the switch's API needs: a request
// with an optional XML body, an answer read by net/http's own parser.
type rawClient struct {
	conns   chan *rawConn
	dial    func(ctx context.Context) (net.Conn, error)
	host    string
	timeout time.Duration
}

func newRawClient(u *url.URL, cfg *tls.Config, concurrency int, timeout time.Duration) *rawClient {
	addr := u.Host
	if u.Port() == "" {
		port := "80"
		if cfg != nil {
			port = "443"
		}
		addr = net.JoinHostPort(u.Hostname(), port)
	}
	r := &rawClient{conns: make(chan *rawConn, concurrency), host: u.Host, timeout: timeout}
	r.dial = func(ctx context.Context) (net.Conn, error) {
		if cfg == nil {
			var d net.Dialer
			return d.DialContext(ctx, "tcp", addr)
		}
		c := cfg.Clone()
		c.ServerName = u.Hostname()
		d := tls.Dialer{Config: c}
		return d.DialContext(ctx, "tcp", addr)
	}
	for range concurrency {
		r.conns <- &rawConn{}
	}
	return r
}

// rawConn is one connection, opened on first use and again after a
// failure, with its read and write buffers.
type rawConn struct {
	c   net.Conn
	br  *bufio.Reader
	req []byte
}

func (r *rawClient) do(ctx context.Context, method, path, token string, body []byte) (int, []byte, error) {
	c := <-r.conns
	defer func() { r.conns <- c }()
	if c.c == nil {
		conn, err := r.dial(ctx)
		if err != nil {
			return 0, nil, err
		}
		c.c = conn
		if c.br == nil {
			c.br = bufio.NewReaderSize(conn, 32<<10)
		} else {
			c.br.Reset(conn)
		}
	}
	b := append(c.req[:0], method...)
	b = append(append(append(b, ' '), path...), " HTTP/1.1\r\nHost: "...)
	b = append(append(append(b, r.host...), "\r\nAuthorization: Bearer "...), token...)
	if body != nil {
		b = append(b, "\r\nContent-Type: application/xml\r\nContent-Length: "...)
		b = strconv.AppendInt(b, int64(len(body)), 10)
	}
	b = append(append(b, "\r\n\r\n"...), body...)
	c.req = b
	if r.timeout > 0 {
		c.c.SetDeadline(time.Now().Add(r.timeout))
	}
	if _, err := c.c.Write(b); err != nil {
		c.drop()
		return 0, nil, err
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		c.drop()
		return 0, nil, err
	}
	answer, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.Close {
		c.drop()
	}
	return resp.StatusCode, answer, err
}

// drop closes a connection that failed or that the server closes; the
// next request opens a new one.
func (c *rawConn) drop() {
	c.c.Close()
	c.c = nil
}

func (r *rawClient) close() {
	for range cap(r.conns) {
		if c := <-r.conns; c.c != nil {
			c.drop()
		}
	}
}
