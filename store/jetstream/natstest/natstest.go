// Package natstest runs NATS JetStream servers in-process for tests: a
// single server, or a cluster on 127.0.0.1 whose nodes can be killed,
// restarted and cut off from each other. Every server runs with
// sync_interval: always, as production must.
package natstest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// Start runs one JetStream server with its store in a temporary
// directory and stops it when the test ends.
func Start(t testing.TB) *server.Server {
	t.Helper()
	opts := baseOptions("n0", t.TempDir(), freePort(t))
	s := run(t, opts)
	t.Cleanup(s.Shutdown)
	return s
}

func baseOptions(name, dir string, port int) *server.Options {
	return &server.Options{
		ServerName:   name,
		Host:         "127.0.0.1",
		Port:         port,
		JetStream:    true,
		StoreDir:     dir,
		SyncAlways:   true,
		SyncInterval: 2 * time.Minute,
		NoLog:        true,
		NoSigs:       true,
		MaxPayload:   8 << 20,
	}
}

func run(t testing.TB, opts *server.Options) *server.Server {
	t.Helper()
	s, err := start(opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// readyWait bounds a server's start. Under a full `make test`, with other
// packages' tests on the same cores, a server has needed more than 10 s.
const readyWait = 30 * time.Second

// start starts a server and waits until it takes connections. It does not
// touch a testing.TB, so StartCluster can start its servers side by side
// and fail the test from the test's own goroutine.
func start(opts *server.Options) (*server.Server, error) {
	s, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("starting nats-server %s: %w", opts.ServerName, err)
	}
	go s.Start()
	if !s.ReadyForConnections(readyWait) {
		s.Shutdown()
		return nil, fmt.Errorf("nats-server %s not ready after %s", opts.ServerName, readyWait)
	}
	return s, nil
}

// freePort returns a port nothing listens on, for a server to bind a
// moment later. It is taken below the kernel's ephemeral range: a port
// from that range (what listening on port 0 gives) can meanwhile become
// the source port of any outgoing connection on the machine, and a server
// that cannot bind its port never becomes ready.
func freePort(t testing.TB) int {
	t.Helper()
	low := ephemeralLow()
	for range 100 {
		port := minPort + rand.IntN(low-minPort)
		if l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			l.Close()
			return port
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// minPort is the lowest port freePort hands out.
const minPort = 10000

// ephemeralLow is the first port of the kernel's ephemeral range, 32768
// where the range cannot be read.
func ephemeralLow() int {
	raw, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	f := strings.Fields(string(raw))
	if len(f) == 0 {
		return 32768
	}
	low, err := strconv.Atoi(f[0])
	if err != nil || low <= minPort+1000 {
		return 32768
	}
	return low
}

// refusingAddr returns a 127.0.0.1 address that refuses connections until
// the test ends: its port is held by the client end of an open
// connection, so nothing listens on it and nothing can bind it.
func refusingAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("reserving a port: %v", err)
	}
	defer l.Close()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatalf("reserving a port: %v", err)
	}
	s, err := l.Accept()
	if err != nil {
		_ = c.Close()
		t.Fatalf("reserving a port: %v", err)
	}
	t.Cleanup(func() { _ = c.Close(); _ = s.Close() })
	return c.LocalAddr().String()
}

// Cluster is a JetStream cluster of in-process servers. The routes of one
// that StartCluster started run through proxies, so that a node can be
// partitioned from the others. Every such node advertises an address
// that refuses connections as its cluster address: servers dial the
// address another gossips when they have no route to it yet (an implicit
// route), and with the real one such a route would bypass the proxies and
// survive a partition.
type Cluster struct {
	t       testing.TB
	mu      sync.Mutex
	opts    []*server.Options
	servers []*server.Server
	// proxies[i][j] carries node i's route to node j; nil where the
	// routes run straight (StartDirectCluster).
	proxies [][]*proxy
}

// StartCluster runs n servers (n >= 3 for R3) and waits until JetStream
// has a meta leader. Everything stops when the test ends.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	return startCluster(t, n, true)
}

// StartDirectCluster is StartCluster with routes that run straight from
// server to server, as in production, for measurements: the proxies cost
// each replicated write two more connections' reads and writes. Its nodes
// cannot be partitioned.
func StartDirectCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	return startCluster(t, n, false)
}

func startCluster(t testing.TB, n int, proxied bool) *Cluster {
	t.Helper()
	c := &Cluster{t: t, servers: make([]*server.Server, n)}
	clusterPorts := make([]int, n)
	for i := range n {
		clusterPorts[i] = freePort(t)
	}
	route := func(i, j int) string { return fmt.Sprintf("nats://127.0.0.1:%d", clusterPorts[j]) }
	var void string // what a node behind proxies advertises
	if proxied {
		c.proxies = make([][]*proxy, n)
		for i := range n {
			c.proxies[i] = make([]*proxy, n)
			for j := range n {
				if i != j {
					c.proxies[i][j] = newProxy(t, fmt.Sprintf("127.0.0.1:%d", clusterPorts[j]))
				}
			}
		}
		route = func(i, j int) string { return "nats://" + c.proxies[i][j].addr() }
		void = refusingAddr(t)
	}
	base := t.TempDir()
	for i := range n {
		o := baseOptions(fmt.Sprintf("n%d", i), filepath.Join(base, fmt.Sprintf("n%d", i)), freePort(t))
		o.Cluster = server.ClusterOpts{Name: "knooppunt-test", Host: "127.0.0.1", Port: clusterPorts[i], NoAdvertise: true, PoolSize: -1, Advertise: void}
		for j := range n {
			if i != j {
				o.Routes = append(o.Routes, server.RoutesFromStr(route(i, j))...)
			}
		}
		c.opts = append(c.opts, o)
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { c.servers[i], errs[i] = start(c.opts[i]) })
	}
	wg.Wait()
	t.Cleanup(c.Shutdown)
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err) // here, not in the goroutines: Fatal must run on the test's own
	}
	c.WaitForLeader(30 * time.Second)
	return c
}

// URL returns the client URLs of all nodes, comma-separated.
func (c *Cluster) URL() string {
	var urls []string
	for _, o := range c.opts {
		urls = append(urls, fmt.Sprintf("nats://127.0.0.1:%d", o.Port))
	}
	return strings.Join(urls, ",")
}

// NodeURL returns node i's client URL.
func (c *Cluster) NodeURL(i int) string { return fmt.Sprintf("nats://127.0.0.1:%d", c.opts[i].Port) }

// WaitForLeader waits until a running node is the JetStream meta leader
// and knows every running node as a peer, so streams can be placed.
func (c *Cluster) WaitForLeader(d time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		running := 0
		for _, s := range c.servers {
			if s != nil && s.Running() {
				running++
			}
		}
		for _, s := range c.servers {
			if s != nil && s.Running() && s.JetStreamIsLeader() && len(s.JetStreamClusterPeers()) >= running {
				c.mu.Unlock()
				return
			}
		}
		c.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	c.t.Fatalf("no JetStream meta leader within %s", d)
}

// StreamLeader returns the index of the node leading stream (in the
// default account), or -1 if none does.
func (c *Cluster) StreamLeader(stream string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, s := range c.servers {
		if s != nil && s.Running() && s.JetStreamIsStreamLeader(server.DEFAULT_GLOBAL_ACCOUNT, stream) {
			return i
		}
	}
	return -1
}

// StreamLeaderBesides returns the index of a node other than i leading
// stream, or -1: during a partition of i, the leader the majority elected
// (i may still claim leadership of its own until it notices).
func (c *Cluster) StreamLeaderBesides(stream string, i int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	for j, s := range c.servers {
		if j != i && s != nil && s.Running() && s.JetStreamIsStreamLeader(server.DEFAULT_GLOBAL_ACCOUNT, stream) {
			return j
		}
	}
	return -1
}

// WaitForStreamCurrent waits until stream has a leader and every running
// node's replica of it is current, e.g. until a restarted node caught up.
func (c *Cluster) WaitForStreamCurrent(stream string, d time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if c.StreamLeader(stream) >= 0 && c.allCurrent(stream) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.t.Fatalf("stream %s not current on every running node within %s", stream, d)
}

func (c *Cluster) allCurrent(stream string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.servers {
		if s != nil && s.Running() && !s.JetStreamIsStreamCurrent(server.DEFAULT_GLOBAL_ACCOUNT, stream) {
			return false
		}
	}
	return true
}

// MoveStreamLeader makes node i the leader of stream (in the default
// account): the leader steps down with i as the preferred successor. It
// waits up to d, asking again if an election went elsewhere.
func (c *Cluster) MoveStreamLeader(stream string, i int, d time.Duration) {
	c.t.Helper()
	nc, err := nats.Connect(c.URL())
	if err != nil {
		c.t.Fatalf("connecting to move the leader of %s: %v", stream, err)
	}
	defer nc.Close()
	req, err := json.Marshal(server.JSApiLeaderStepdownRequest{Placement: &server.Placement{Preferred: c.opts[i].ServerName}})
	if err != nil {
		c.t.Fatalf("encoding stepdown request: %v", err)
	}
	var last error // of the latest request; retried until the deadline
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if c.StreamLeader(stream) == i {
			return
		}
		if c.StreamLeader(stream) >= 0 {
			last = stepDown(nc, stream, req)
		}
		for wait := time.Now().Add(2 * time.Second); time.Now().Before(wait) && c.StreamLeader(stream) != i; {
			time.Sleep(20 * time.Millisecond)
		}
	}
	c.t.Fatalf("node %d did not become the leader of %s within %s (last stepdown: %v)", i, stream, d, last)
}

func stepDown(nc *nats.Conn, stream string, req []byte) error {
	msg, err := nc.Request(fmt.Sprintf(server.JSApiStreamLeaderStepDownT, stream), req, time.Second)
	if err != nil {
		return fmt.Errorf("requesting a stepdown of %s: %w", stream, err)
	}
	var resp server.JSApiStreamLeaderStepDownResponse
	if err := json.Unmarshal(msg.Data, &resp); err != nil {
		return fmt.Errorf("reading the stepdown answer for %s: %w", stream, err)
	}
	if resp.Error != nil {
		return fmt.Errorf("stepdown of %s: %w", stream, resp.Error)
	}
	return nil
}

// Clients returns the number of client connections (not routes) that
// node i holds, 0 if it is down: it shows where a test's clients are.
func (c *Cluster) Clients(i int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.servers[i]; s != nil && s.Running() {
		return s.NumClients()
	}
	return 0
}

// DropClient closes one client connection of node i, as a network blip
// would; a nats.go client then reconnects to the next server of its
// list, which is another node. It reports whether there was one.
func (c *Cluster) DropClient(i int) bool {
	c.mu.Lock()
	s := c.servers[i]
	c.mu.Unlock()
	if s == nil {
		return false
	}
	cz, err := s.Connz(&server.ConnzOptions{})
	if err != nil || len(cz.Conns) == 0 {
		return false
	}
	return s.DisconnectClientByID(cz.Conns[0].Cid) == nil
}

// Kill stops node i abruptly (its files stay as they are).
func (c *Cluster) Kill(i int) {
	c.mu.Lock()
	s := c.servers[i]
	c.servers[i] = nil
	c.mu.Unlock()
	if s != nil {
		s.Shutdown()
		s.WaitForShutdown()
	}
}

// Restart starts node i again on its old ports and files.
func (c *Cluster) Restart(i int) {
	c.t.Helper()
	s := run(c.t, c.opts[i].Clone())
	c.mu.Lock()
	c.servers[i] = s
	c.mu.Unlock()
}

// Partition cuts node i's routes to and from every other node (client
// connections stay); Heal restores them.
func (c *Cluster) Partition(i int) { c.setBlocked(i, true) }

// Heal ends a partition of node i.
func (c *Cluster) Heal(i int) { c.setBlocked(i, false) }

func (c *Cluster) setBlocked(i int, b bool) {
	if c.proxies == nil {
		c.t.Fatal("a cluster started by StartDirectCluster cannot be partitioned")
	}
	for j := range c.proxies {
		if i == j {
			continue
		}
		c.proxies[i][j].setBlocked(b)
		c.proxies[j][i].setBlocked(b)
	}
}

// Shutdown stops every node and proxy.
func (c *Cluster) Shutdown() {
	for i := range c.servers {
		c.Kill(i)
	}
	for _, row := range c.proxies {
		for _, p := range row {
			if p != nil {
				p.close()
			}
		}
	}
}

// proxy forwards TCP connections to target unless blocked.
type proxy struct {
	l       net.Listener
	target  string
	mu      sync.Mutex
	blocked bool
	conns   map[net.Conn]bool
	wg      sync.WaitGroup
}

func newProxy(t testing.TB, target string) *proxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("starting route proxy: %v", err)
	}
	p := &proxy{l: l, target: target, conns: map[net.Conn]bool{}}
	p.wg.Add(1)
	go p.accept()
	return p
}

func (p *proxy) addr() string { return p.l.Addr().String() }

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		in, err := p.l.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		blocked := p.blocked
		p.mu.Unlock()
		if blocked {
			_ = in.Close()
			continue
		}
		out, err := net.DialTimeout("tcp", p.target, time.Second)
		if err != nil {
			_ = in.Close()
			continue
		}
		p.mu.Lock()
		p.conns[in], p.conns[out] = true, true
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(in, out)
		go p.pipe(out, in)
	}
}

func (p *proxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	_, _ = io.Copy(dst, src)
	_ = dst.Close()
	_ = src.Close()
	p.mu.Lock()
	delete(p.conns, dst)
	delete(p.conns, src)
	p.mu.Unlock()
}

func (p *proxy) setBlocked(b bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.blocked = b
	if b {
		for c := range p.conns {
			_ = c.Close()
		}
	}
}

func (p *proxy) close() {
	_ = p.l.Close()
	p.setBlocked(true)
	p.wg.Wait()
}
