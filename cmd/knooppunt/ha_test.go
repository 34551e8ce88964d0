package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/logtest"
	"github.com/knooppunt/knooppunt/sample"
	"github.com/knooppunt/knooppunt/store/jetstream/natstest"
)

// haChildEnv carries the serve arguments (one per line) to a re-executed
// test binary that is to run as a Knooppunt node.
const haChildEnv = "KNOOPPUNT_HA_CHILD"

// TestHAChildProcess is not a test of its own: TestHAKillNode and
// TestHANATSFailures re-execute the test binary with haChildEnv set to run
// a Knooppunt node in a process they can SIGKILL. Without the variable it
// skips.
func TestHAChildProcess(t *testing.T) {
	args := os.Getenv(haChildEnv)
	if args == "" {
		t.Skip("runs only as a node process of TestHAKillNode and TestHANATSFailures")
	}
	os.Exit(runServe(strings.Split(args, "\n"), nil, os.Stdout, os.Stderr))
}

// haNode is a Knooppunt node in a child process.
type haNode struct {
	cmd    *exec.Cmd
	url    string
	stderr *logtest.Buffer
	stuf   chan string // the StUF-GGk endpoint's URL, when it prints one
}

// startHANode starts a dev node on store in a child process and waits for
// its address.
func startHANode(t *testing.T, store string) *haNode {
	t.Helper()
	return startNodeProcess(t, "--data", t.TempDir()+"/data", "--store", store, "--insight=false")
}

// startNodeProcess starts `serve --dev` with extra flags in a child
// process (the test binary, re-executed) that a test can SIGKILL, and waits
// for its address.
func startNodeProcess(t *testing.T, extra ...string) *haNode {
	t.Helper()
	args := append([]string{"serve", "--dev", "--addr", "127.0.0.1:0", "--log-level", "warn", "--log-format", "json",
		"--rate-limit", "-1", "--max-concurrent", "-1"}, extra...)
	cmd := exec.Command(os.Args[0], "-test.run=^TestHAChildProcess$")
	cmd.Env = append(os.Environ(), haChildEnv+"="+strings.Join(args[1:], "\n"))
	n := &haNode{cmd: cmd, stderr: &logtest.Buffer{}}
	cmd.Stderr = n.stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("node %s stderr:\n%s", n.url, n.stderr.String())
		}
	})
	urls := make(chan string, 1)
	n.stuf = make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "knooppunt listening on "); ok {
				urls <- strings.Fields(rest)[0]
			}
			if rest, ok := strings.CutPrefix(sc.Text(), "StUF-GGk endpoint on "); ok {
				n.stuf <- strings.Fields(rest)[0]
			}
		}
	}()
	select {
	case n.url = <-urls:
	case <-time.After(60 * time.Second):
		t.Fatalf("node did not start: %s", n.stderr.String())
	}
	return n
}

// stufURL returns the StUF-GGk endpoint the node printed at start.
func (n *haNode) stufURL(t *testing.T) string {
	t.Helper()
	select {
	case u := <-n.stuf:
		return u
	case <-time.After(30 * time.Second):
		t.Fatalf("no StUF-GGk endpoint printed: %s", n.stderr.String())
		return ""
	}
}

// TestHAKillNode is the process-level failure of a node: two Knooppunt node
// processes on a three-node R3 JetStream cluster, clients posting to both,
// one node SIGKILLed mid-load. The clients resend what failed on the other
// node, as a sender behind a load balancer would. Afterwards every message
// that was answered 2xx is delivered exactly once, byte-identical, and
// nothing else is delivered; the survivor kept accepting within seconds.
func TestHAKillNode(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a NATS cluster and two node processes; skipped with -short")
	}
	cluster := natstest.StartCluster(t, 3)
	store := cluster.URL() + "?replicas=3"
	nodes := []*haNode{startHANode(t, store), startHANode(t, store)}

	const (
		total   = 240
		clients = 4
		killAt  = total / 3 // answered messages before the kill
		sender  = "0384"
		mailbox = "65656055"
	)
	wmo301, _ := bericht.Lookup("WMO301")
	gen := sample.New(91)
	msgs := make([][]byte, total)
	for i := range msgs {
		m, err := gen.Heen(wmo301, sample.Options{Afzender: sender, Ontvanger: mailbox})
		require.NoError(t, err)
		msgs[i] = m.XML
	}

	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	t.Cleanup(client.CloseIdleConnections)
	do := func(method, url, party string, body []byte) (int, []byte, error) {
		return haDo(context.Background(), client, method, url, party, body)
	}

	const victim, survivor = 0, 1
	var (
		answered atomic.Int64
		mu       sync.Mutex
		ids      = make([]string, total) // message index → id answered 2xx
		resends  int
		dups     int         // resends answered 200: the first try was stored
		killTime time.Time   // set under mu
		accepted []time.Time // every 2xx after the kill
	)
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := c; i < total; i += clients {
				target := i % 2
				for attempt := 0; ; attempt++ {
					if !assert.Less(t, attempt, 50, "message %d: no node accepted it", i) {
						return
					}
					code, body, err := do(http.MethodPost, nodes[target].url+"/v1/berichten", sender, msgs[i])
					if err != nil || code >= 500 {
						// Connection lost or store unavailable: resend the
						// same bytes on the other node.
						mu.Lock()
						resends++
						mu.Unlock()
						target = 1 - target
						time.Sleep(20 * time.Millisecond)
						continue
					}
					if !assert.Contains(t, []int{http.StatusAccepted, http.StatusOK}, code, "message %d: %s", i, body) {
						return
					}
					var r struct{ ID, Status string }
					if !assert.NoError(t, json.Unmarshal(body, &r)) {
						return
					}
					assert.Contains(t, []string{"stored", "duplicate"}, r.Status, "message %d", i)
					mu.Lock()
					ids[i] = r.ID
					if r.Status == "duplicate" {
						dups++
					}
					if !killTime.IsZero() && target == survivor {
						// (an answer of the victim read just after the
						// kill was sent before it)
						accepted = append(accepted, time.Now())
					}
					if answered.Add(1) == killAt {
						assert.NoError(t, nodes[victim].cmd.Process.Kill()) // SIGKILL
						killTime = time.Now()
					}
					mu.Unlock()
					break
				}
			}
		}()
	}
	wg.Wait()
	require.False(t, t.Failed(), "the load did not complete")
	require.False(t, killTime.IsZero(), "the node was killed")
	require.NotEmpty(t, accepted, "the survivor accepted after the kill")
	longest, prev := time.Duration(0), killTime
	for _, at := range accepted {
		longest, prev = max(longest, at.Sub(prev)), at
	}
	t.Logf("%d messages, %d resends (%d answered duplicate), %d accepted after the kill, longest wait for an answer from the kill on: %v",
		total, resends, dups, len(accepted), longest)
	assert.Less(t, longest, 5*time.Second, "the survivor kept accepting within seconds")

	// Drain the mailbox on the survivor: list, fetch, confirm.
	want := map[string][]byte{}
	for i, id := range ids {
		require.NotEmpty(t, id, "message %d answered", i)
		_, dup := want[id]
		require.False(t, dup, "two messages got id %s", id)
		want[id] = msgs[i]
	}
	haDrain(t, client, nodes[survivor].url, []string{mailbox}, sender, want, 1)
}

// haDrain empties mailboxes on the node at base — list, then fetch and
// confirm each page, parallel at a time — and checks what the HA tests
// promise: every message of want (id → bytes answered 2xx) is delivered
// exactly once and byte-identical, nothing else is, and the sender's
// mailbox holds nothing.
func haDrain(t *testing.T, client *http.Client, base string, mailboxes []string, sender string, want map[string][]byte, parallel int) {
	t.Helper()
	ctx := context.Background()
	got := map[string]int{}
	for _, mb := range mailboxes {
		for round := 0; ; round++ {
			require.Less(t, round, 2*len(want)/100+10, "mailbox %s does not drain", mb)
			code, body, err := haDo(ctx, client, http.MethodGet, base+"/v1/mailbox?limit=100", mb, nil)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, code, string(body))
			var l struct{ Berichten []struct{ ID string } }
			require.NoError(t, json.Unmarshal(body, &l))
			if len(l.Berichten) == 0 {
				break
			}
			for _, b := range l.Berichten {
				got[b.ID]++
				_, ok := want[b.ID]
				require.True(t, ok, "mailbox %s delivered %s, which no client was answered for", mb, b.ID)
			}
			// Fetch and confirm a page in parallel, as a busy recipient.
			var fetched sync.WaitGroup
			sem := make(chan struct{}, parallel)
			for _, b := range l.Berichten {
				wantBody := want[b.ID]
				sem <- struct{}{}
				fetched.Go(func() {
					defer func() { <-sem }()
					code, body, err := haDo(ctx, client, http.MethodGet, base+"/v1/mailbox/"+b.ID, mb, nil)
					if !assert.NoError(t, err) || !assert.Equal(t, http.StatusOK, code, "fetching %s", b.ID) {
						return
					}
					assert.True(t, bytes.Equal(wantBody, body), "message %s is delivered byte-identical", b.ID)
					code, _, err = haDo(ctx, client, http.MethodDelete, base+"/v1/mailbox/"+b.ID, mb, nil)
					if assert.NoError(t, err) {
						assert.Equal(t, http.StatusNoContent, code, "confirming %s", b.ID)
					}
				})
			}
			fetched.Wait()
			require.False(t, t.Failed())
		}
	}
	for id, n := range got {
		require.Equal(t, 1, n, "message %s is delivered once", id)
	}
	require.Len(t, got, len(want), "every answered message is delivered")
	code, body, err := haDo(ctx, client, http.MethodGet, base+"/v1/mailbox?limit=100", sender, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, code)
	assert.NotContains(t, string(body), `"id"`, "nothing is delivered to the sender")
}
