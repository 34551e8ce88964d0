package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/sample"
	"github.com/knooppunt/knooppunt/store/jetstream"
	"github.com/knooppunt/knooppunt/store/jetstream/natstest"
)

// TestHANATSFailures is the process-level test of NATS failures:
// two Knooppunt node processes on a three-node R3 JetStream cluster, four
// clients posting to both and resending what failed on the other node, as
// a sender behind a load balancer does. Under that load, in turn:
//
//  1. the stream leader's NATS server, moved first to a server a
//     Knooppunt node is connected to, is killed and later restarted;
//  2. the stream leader's server, moved first to a server that holds
//     exactly one Knooppunt node's connection, is partitioned from the
//     other two (its routes cut, client connections kept) and healed:
//     that node is stuck with a minority while the other must go on;
//  3. one Knooppunt node is killed with SIGKILL.
//
// After each failure, POSTs begun after it must succeed again: some within
// 30 s, a liveness bound, not a latency assertion (the times are logged).
// After the partition heals both nodes must accept again. Finally both
// mailboxes, drained on the survivor with list, fetch and confirm, hold
// every message that was answered 2xx exactly once, byte-identical, and
// nothing else.
func TestHANATSFailures(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a NATS cluster and two node processes; skipped with -short")
	}
	const stream = jetstream.DefaultStream
	cluster := natstest.StartCluster(t, 3)
	// A short election grace, so that the partitioned node's readiness
	// can be seen to go within the test.
	store := cluster.URL() + "?replicas=3&grace=" + haGrace.String()
	nodes := []*haNode{startHANode(t, store), startHANode(t, store)}
	load := startHALoad(t, 92, nodes)
	logPhase := func(what string, from, to time.Time) {
		t.Helper()
		s := load.between(from, to, -1)
		t.Logf("%s for %v: first 2xx for a POST begun afterwards %v later; %d POSTs answered 2xx, %d failed (slowest failure %v); longest gap between 2xx answers %v",
			what, to.Sub(from).Round(time.Millisecond), s.first.Round(time.Millisecond), s.ok, s.failed, s.slowestFail.Round(time.Millisecond), s.gap.Round(time.Millisecond))
	}

	t0 := time.Now()
	load.waitOK("start", t0, -1, haSettle)
	cluster.WaitForStreamCurrent(stream, haLiveness)

	// 1. The stream leader's NATS server dies; the hard case is one that
	// a Knooppunt node is connected to, which must reconnect elsewhere.
	killed, conns := cluster.StreamLeader(stream), 0
	if killed >= 0 {
		conns = cluster.Clients(killed)
	}
	if conns == 0 {
		for i := range 3 {
			if conns = cluster.Clients(i); conns > 0 {
				killed = i
				break
			}
		}
		require.Positive(t, conns, "the Knooppunt nodes are connected to NATS")
		cluster.MoveStreamLeader(stream, killed, haLiveness)
	}
	cluster.Kill(killed)
	killedAt := time.Now()
	load.waitOK("after the NATS kill", killedAt, -1, haSettle)
	cluster.Restart(killed)
	restartedAt := time.Now()
	logPhase(fmt.Sprintf("NATS node %d (stream leader, %d client connections) killed", killed, conns), killedAt, restartedAt)
	load.waitOK("after the NATS restart", restartedAt, -1, haSettle)
	cluster.WaitForStreamCurrent(stream, haLiveness)

	// 2. Partition. First the two Knooppunt nodes onto different NATS
	// servers (a dropped connection reconnects to another server), and
	// the stream leader onto one of them.
	counts := func() (c []int, sum int) {
		for i := range 3 {
			c = append(c, cluster.Clients(i))
			sum += c[i]
		}
		return c, sum
	}
	for round := 0; ; round++ {
		c, sum := counts()
		crowded := -1
		for i, n := range c {
			if n > 1 {
				crowded = i
			}
		}
		if sum == len(nodes) && crowded < 0 {
			break
		}
		require.Less(t, round, 500, "the Knooppunt nodes' NATS connections settle on two servers: %v", c)
		if sum == len(nodes) && round%50 == 0 {
			cluster.DropClient(crowded)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cut := cluster.StreamLeader(stream)
	if cut < 0 || cluster.Clients(cut) != 1 {
		for i := range 3 {
			if cluster.Clients(i) == 1 {
				cut = i
				break
			}
		}
		cluster.MoveStreamLeader(stream, cut, haLiveness)
	}
	cluster.Partition(cut)
	cutAt := time.Now()
	first := load.waitOK("during the partition", cutAt, -1, 1)
	// Keep the cut while the majority takes load: until haSettle more
	// answers, or for at most 10 s after the first.
	for s := load.since(cutAt, -1); s.ok < haSettle && time.Since(cutAt) < first+10*time.Second; s = load.since(cutAt, -1) {
		require.False(t, t.Failed(), "a client failed")
		time.Sleep(20 * time.Millisecond)
	}
	// Else the cut was not felt and this tested nothing.
	require.NotZero(t, load.since(cutAt, -1).failed, "some POST failed during the partition")
	// What a load balancer's readiness probe sees meanwhile: a node that
	// has committed nothing since the cut must say it is not ready once
	// its election grace is over (its store pings with a write; reads
	// alone would still succeed). Its first batch fails CommitTimeout
	// after the cut at the latest, and the grace runs from there.
	if d := time.Until(cutAt.Add(3*time.Second + haGrace + time.Second)); d > 0 {
		time.Sleep(d)
	}
	ready := make([]string, len(nodes))
	for n, node := range nodes {
		code, _, err := load.do(load.ctx, http.MethodGet, node.url+"/readyz", haSender, nil)
		ready[n] = fmt.Sprint(code, err)
		if st := load.since(cutAt, n); st.ok == 0 && st.failed > 0 {
			assert.Equal(t, http.StatusServiceUnavailable, code, "node %d commits nothing but says it is ready", n)
		}
	}
	cluster.Heal(cut)
	healedAt := time.Now()
	logPhase(fmt.Sprintf("NATS node %d (stream leader, one Knooppunt node's server) partitioned", cut), cutAt, healedAt)
	for n := range nodes {
		s := load.between(cutAt, healedAt, n)
		t.Logf("  node %d during the partition: %d POSTs answered 2xx (first %v after the cut), %d failed (slowest failure %v); /readyz: %s",
			n, s.ok, s.first.Round(time.Millisecond), s.failed, s.slowestFail.Round(time.Millisecond), ready[n])
	}
	for n := range nodes {
		d := load.waitOK(fmt.Sprintf("node %d after the heal", n), healedAt, n, 3)
		t.Logf("  node %d after the heal: first 2xx for a POST begun afterwards %v later", n, d.Round(time.Millisecond))
	}
	cluster.WaitForStreamCurrent(stream, haLiveness)

	// 3. A Knooppunt node dies with SIGKILL; its traffic moves to the
	// survivor.
	const victim, survivor = 0, 1
	require.NoError(t, nodes[victim].cmd.Process.Kill())
	sigkillAt := time.Now()
	load.waitOK("after the SIGKILL", sigkillAt, survivor, haSettle)
	load.finish()
	logPhase(fmt.Sprintf("Knooppunt node %d SIGKILLed", victim), sigkillAt, time.Now())
	load.drain(t0, survivor)
}

// haDo sends one request with the dev token of party and returns the
// status and body.
func haDo(ctx context.Context, client *http.Client, method, url, party string, body []byte) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, nil, fmt.Errorf("building %s %s: %w", method, url, err)
	}
	req.Header.Set("Authorization", "Bearer dev-"+party)
	if body != nil {
		req.Header.Set("Content-Type", "application/xml")
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, b, fmt.Errorf("reading the answer to %s %s: %w", method, url, err)
	}
	return resp.StatusCode, b, nil
}

// The load of the NATS failure tests: haClients clients post WMO301s
// from haSender to two mailboxes, each haThink after its last answer.
// After each failure haSettle POSTs begun afterwards must succeed within
// haLiveness, a liveness bound, not a latency target.
const (
	haClients  = 4
	haThink    = 50 * time.Millisecond
	haSettle   = 20
	haLiveness = 30 * time.Second
	haSender   = "0384"
	// haGrace is the nodes' election grace (store URL grace=): short, so
	// a partitioned node is seen to leave the load balancer.
	haGrace = 2 * time.Second
)

var haMailboxes = []string{"65656055", "12345678"}

// startHALoad starts the clients on nodes, with messages from a generator
// of seed. They stop taking messages at finish, and abandon the one in
// hand only when the test ends (it failed).
func startHALoad(t *testing.T, seed int64, nodes []*haNode) *haLoad {
	wmo301, _ := bericht.Lookup("WMO301")
	l := &haLoad{t: t, nodes: nodes, gen: sample.New(seed), stop: make(chan struct{}), next: func(g *sample.Generator, i int) ([]byte, error) {
		m, err := g.Heen(wmo301, sample.Options{Afzender: haSender, Ontvanger: haMailboxes[i/2%2]})
		if err != nil {
			return nil, fmt.Errorf("generating message %d: %w", i, err)
		}
		return m.XML, nil
	}}
	// A sender (or its load balancer) gives up on a POST after 5 s, before
	// the store's 10 s request timeout: a resend may then race a write
	// still under way on the other node, which dedup must settle.
	l.http = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: haClients}}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	t.Cleanup(func() {
		l.cancel()
		l.wg.Wait()
		l.http.CloseIdleConnections()
	})
	for range haClients {
		l.wg.Go(l.client)
	}
	return l
}

// do sends one request with the dev token of party.
func (l *haLoad) do(ctx context.Context, method, url, party string, body []byte) (int, []byte, error) {
	return haDo(ctx, l.http, method, url, party, body)
}

// finish stops the clients after their message in hand.
func (l *haLoad) finish() {
	close(l.stop)
	l.wg.Wait()
	require.False(l.t, l.t.Failed(), "the load completed")
}

// drain checks the load's outcome on node survivor: both mailboxes,
// listed, fetched and confirmed, hold every message answered 2xx exactly
// once, byte-identical, and nothing else.
func (l *haLoad) drain(t0 time.Time, survivor int) {
	t := l.t
	want := map[string][]byte{}
	for i, id := range l.ids {
		require.NotEmpty(t, id, "message %d answered", i)
		_, dup := want[id]
		require.False(t, dup, "two messages got id %s", id)
		want[id] = l.msgs[i]
	}
	t.Logf("%d messages answered 2xx (%d of them after a resend, as duplicate); %d POSTs in all, %.1f s of load",
		len(want), l.dups, len(l.posts), time.Since(t0).Seconds())
	haDrain(t, l.http, l.nodes[survivor].url, haMailboxes, haSender, want, haClients)
}

// client posts the load's messages, one after another with haThink
// between them, until finish, as a sender behind a load balancer does: a POST
// that fails (connection lost, 503) is resent, same bytes, to the other
// node. "Cannot store now" must be a 503 that names it (the gateway gives
// every 503 a Retry-After), never a 500. It gives up a message only when
// ctx ends or no node accepted it within 45 s.
func (l *haLoad) client() {
	t, ctx, nodes := l.t, l.ctx, l.nodes
	pause := func(d time.Duration) bool {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(d):
			return true
		}
	}
	for {
		select {
		case <-l.stop:
			return
		default:
		}
		if !pause(haThink) {
			return
		}
		i, msg, err := l.take()
		if !assert.NoError(t, err) {
			return
		}
		target := i % 2
		giveUp := time.Now().Add(45 * time.Second)
		for {
			if !assert.True(t, time.Now().Before(giveUp), "message %d: no node accepted it within 45 s", i) {
				return
			}
			start := time.Now()
			code, body, err := l.do(ctx, http.MethodPost, nodes[target].url+"/v1/berichten", haSender, msg)
			if ctx.Err() != nil {
				return
			}
			failed := err != nil || code >= 500
			if err == nil && code >= 500 {
				assert.Equal(t, http.StatusServiceUnavailable, code, "message %d: %s", i, body)
				assert.Contains(t, string(body), `"code":"store-unavailable"`, "message %d", i)
			}
			l.record(haPost{node: target, start: start, end: time.Now(), ok: !failed && code/100 == 2})
			if failed {
				target = 1 - target
				if !pause(20 * time.Millisecond) {
					return
				}
				continue
			}
			if !assert.Contains(t, []int{http.StatusAccepted, http.StatusOK}, code, "message %d: %s", i, body) {
				return
			}
			var r struct{ ID, Status string }
			if !assert.NoError(t, json.Unmarshal(body, &r), "message %d", i) {
				return
			}
			assert.Contains(t, []string{"stored", "duplicate"}, r.Status, "message %d", i)
			l.answer(i, r.ID, r.Status == "duplicate")
			break
		}
	}
}

// waitOK waits until n POSTs begun at or after at were answered 2xx, by
// node (any node if node < 0), and returns the time from at to the first
// of them. It fails the test after haLiveness, or as soon as a client did.
func (l *haLoad) waitOK(what string, at time.Time, node, n int) time.Duration {
	t := l.t
	t.Helper()
	for {
		s := l.since(at, node)
		if s.ok >= n {
			return s.first
		}
		if t.Failed() {
			t.FailNow() // a client failed: its assertion says why
		}
		if time.Since(at) > haLiveness {
			t.Fatalf("%s: %d POSTs begun afterwards were answered 2xx within %s (%d failed), want %d", what, s.ok, haLiveness, s.failed, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// haLoad is the clients of an HA test, their messages, their answers and
// every POST.
type haLoad struct {
	t      *testing.T
	nodes  []*haNode
	http   *http.Client
	ctx    context.Context
	cancel context.CancelFunc
	stop   chan struct{}
	wg     sync.WaitGroup

	mu   sync.Mutex
	gen  *sample.Generator
	next func(g *sample.Generator, i int) ([]byte, error)
	msgs [][]byte // message i's bytes
	ids  []string // message i's id once answered 2xx
	dups int      // answers "duplicate": an earlier, failed try was stored
	// posts is every POST attempt, in the order they ended.
	posts []haPost
}

// haPost is one POST attempt.
type haPost struct {
	node       int
	start, end time.Time
	ok         bool // answered 2xx
}

// take generates the next message.
func (l *haLoad) take() (int, []byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	i := len(l.msgs)
	m, err := l.next(l.gen, i)
	if err != nil {
		return 0, nil, err
	}
	l.msgs = append(l.msgs, m)
	l.ids = append(l.ids, "")
	return i, m, nil
}

func (l *haLoad) record(p haPost) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.posts = append(l.posts, p)
}

func (l *haLoad) answer(i int, id string, dup bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ids[i] = id
	if dup {
		l.dups++
	}
}

// haStats sums up the POSTs of a span of time.
type haStats struct {
	ok, failed int
	// first is the time from the span's start to the first 2xx answer;
	// gap the longest time without one (from the start, between answers,
	// and to the last answer).
	first, gap time.Duration
	// slowestFail is the longest a failed POST took.
	slowestFail time.Duration
}

// since sums up the POSTs begun at or after from on node (any if node < 0).
func (l *haLoad) since(from time.Time, node int) haStats {
	return l.between(from, time.Time{}, node)
}

// between sums up the POSTs begun in [from, to) (to zero: no end) on
// node (any if node < 0).
func (l *haLoad) between(from, to time.Time, node int) haStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	var s haStats
	prev := from
	for _, p := range l.posts {
		if p.start.Before(from) || (!to.IsZero() && !p.start.Before(to)) {
			continue
		}
		if node >= 0 && p.node != node {
			continue
		}
		if !p.ok {
			s.failed++
			s.slowestFail = max(s.slowestFail, p.end.Sub(p.start))
			continue
		}
		if s.ok == 0 {
			s.first = p.end.Sub(from)
		}
		s.ok++
		if p.end.After(prev) {
			s.gap, prev = max(s.gap, p.end.Sub(prev)), p.end
		}
	}
	return s
}
