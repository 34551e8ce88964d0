package main

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
	const stream = jetstream.DefaultStream
	cluster := natstest.StartProcesses(t, 3)
	store := cluster.URL() + "?replicas=3"
	nodes := []*haNode{startHANode(t, store), startHANode(t, store)}
	load := startHALoad(t, 93, nodes)

	t0 := time.Now()
	load.waitOK("start", t0, -1, haSettle)
	cluster.WaitForStreamCurrent(stream, haLiveness)

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
		load.waitOK("after killing the "+role, at, -1, haSettle)
		cluster.Restart(victim)
		back := time.Now()
		s := load.between(at, back, -1)
		t.Logf("nats-server %d (%s) SIGKILLed for %v: %d POSTs answered 2xx, %d failed; first 2xx %v after the kill",
			victim, role, back.Sub(at).Round(time.Millisecond), s.ok, s.failed, s.first.Round(time.Millisecond))
		load.waitOK("after restarting the "+role, back, -1, haSettle)
		cluster.WaitForStreamCurrent(stream, haLiveness)
	}

	// An operator reads what happened in one line at each end of the
	// outage, not one per failed request.
	logs := nodes[0].stderr.String() + nodes[1].stderr.String()
	assert.Contains(t, logs, "NATS servers reachable from this node")
	assert.Contains(t, logs, "stores again after")
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, "cannot store") || strings.Contains(line, "stores again") {
			t.Log(line)
		}
	}

	// A switch dies with SIGKILL; its traffic moves to the survivor.
	const victim, survivor = 0, 1
	require.NoError(t, nodes[victim].cmd.Process.Kill())
	load.waitOK("after the switch's SIGKILL", time.Now(), survivor, haSettle)
	load.finish()
	load.drain(t0, survivor)
}
