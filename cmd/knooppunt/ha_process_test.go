package main

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/sample"
	"github.com/knooppunt/knooppunt/store/jetstream"
	"github.com/knooppunt/knooppunt/store/jetstream/natstest"
)

// TestHANATSServerProcesses runs the deployment of docs/operations.md with
// nothing of NATS in the test's process: three nats-server processes (the
// pinned module version, built by the test) as an R3 cluster, two switch
// processes on it, four clients posting to both. Under that load it
// SIGKILLs, in turn, the stream leader's server, a follower's server (each
// restarted afterwards) and a switch. After each, POSTs must succeed again
// within 30 s (liveness, not latency); every answer is 202, 200 or 503
// store-unavailable, never 500; and at the end the survivor's mailboxes
// hold every message answered 2xx exactly once, byte-identical.
func TestHANATSServerProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds nats-server and runs three of it and two switch processes; skipped with -short")
	}
	const (
		stream   = jetstream.DefaultStream
		clients  = 4
		think    = 50 * time.Millisecond
		settle   = 20
		liveness = 30 * time.Second
		sender   = "0384"
	)
	mailboxes := []string{"65656055", "12345678"}
	cluster := natstest.StartProcesses(t, 3)
	nodes := []*haNode{startHANode(t, cluster.URL()+"?replicas=3"), startHANode(t, cluster.URL()+"?replicas=3")}

	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	t.Cleanup(client.CloseIdleConnections)
	do := func(ctx context.Context, method, url, token string, body []byte) (int, []byte, error) {
		return haDo(ctx, client, method, url, token, body)
	}
	wmo301, _ := bericht.Lookup("WMO301")
	load := &haLoad{gen: sample.New(93), next: func(g *sample.Generator, i int) ([]byte, error) {
		m, err := g.Heen(wmo301, sample.Options{Afzender: sender, Ontvanger: mailboxes[i/2%2]})
		if err != nil {
			return nil, fmt.Errorf("generating message %d: %w", i, err)
		}
		return m.XML, nil
	}}
	ctx, cancel := context.WithCancel(context.Background())
	stop := make(chan struct{})
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	for range clients {
		wg.Go(func() { load.client(ctx, t, stop, nodes, do, sender, think) })
	}

	t0 := time.Now()
	load.waitOK(t, "start", t0, -1, settle, liveness)
	cluster.WaitForStreamCurrent(stream, liveness)

	// A NATS server dies with SIGKILL and comes back: first the stream
	// leader's, then a follower's.
	for _, role := range []string{"stream leader", "follower"} {
		leader := cluster.StreamLeader(stream)
		require.GreaterOrEqual(t, leader, 0, "the stream has a leader")
		victim := leader
		if role == "follower" {
			victim = (leader + 1) % 3
		}
		cluster.Kill(victim)
		at := time.Now()
		load.waitOK(t, "after killing the "+role, at, -1, settle, liveness)
		cluster.Restart(victim)
		back := time.Now()
		s := load.between(at, back, -1)
		t.Logf("nats-server %d (%s) SIGKILLed for %v: %d POSTs answered 2xx, %d failed; first 2xx %v after the kill",
			victim, role, back.Sub(at).Round(time.Millisecond), s.ok, s.failed, s.first.Round(time.Millisecond))
		load.waitOK(t, "after restarting the "+role, back, -1, settle, liveness)
		cluster.WaitForStreamCurrent(stream, liveness)
	}

	// A switch dies with SIGKILL; its traffic moves to the survivor.
	const victim, survivor = 0, 1
	require.NoError(t, nodes[victim].cmd.Process.Kill())
	load.waitOK(t, "after the switch's SIGKILL", time.Now(), survivor, settle, liveness)
	close(stop)
	wg.Wait()
	require.False(t, t.Failed(), "the load completed")

	want := map[string][]byte{}
	for i, id := range load.ids {
		require.NotEmpty(t, id, "message %d answered", i)
		_, dup := want[id]
		require.False(t, dup, "two messages got id %s", id)
		want[id] = load.msgs[i]
	}
	t.Logf("%d messages answered 2xx (%d after a resend, as duplicate); %d POSTs in all, %.1f s of load",
		len(want), load.dups, len(load.posts), time.Since(t0).Seconds())
	haDrain(t, client, nodes[survivor].url, mailboxes, sender, want, clients)
}
