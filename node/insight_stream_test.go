package node

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/sample"
	"github.com/knooppunt/knooppunt/store/jetstream/natstest"
	"github.com/knooppunt/knooppunt/store/pebble"
	"github.com/knooppunt/knooppunt/stuurinfo"
)

// TestInsightFollowsTheStream: two nodes on one JetStream store, each
// posted half of the traffic; the products of each count all of it. A
// node restarted from its saved state counts nothing twice and goes on
// with what the other stores meanwhile.
func TestInsightFollowsTheStream(t *testing.T) {
	srv := natstest.Start(t)
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
	dirA, dirB := t.TempDir(), t.TempDir()
	start := func(dir string) *Node {
		n, err := Start(context.Background(), Config{Dev: true, Addr: "127.0.0.1:0",
			StoreURL: srv.ClientURL() + "?replicas=1", Store: pebble.Config{Dir: dir + "/data"},
			Insight: InsightConfig{Enabled: true}, Logger: log})
		require.NoError(t, err)
		t.Cleanup(func() { n.Close() })
		return n
	}
	a, b := start(dirA), start(dirB)

	s, ok := bericht.Lookup("WMO301")
	require.True(t, ok)
	gen := sample.New(21)
	post := func(n *Node) {
		t.Helper()
		m, err := gen.Heen(s, sample.Options{Afzender: "0384", Ontvanger: "42420001"})
		require.NoError(t, err)
		code, body := call(t, http.MethodPost, n.URL()+"/v1/berichten", "dev-0384", "application/xml", string(m.XML))
		require.Equal(t, http.StatusAccepted, code, string(body))
	}
	for i := range 6 {
		post([]*Node{a, b}[i%2])
	}
	// counted is what a node's products hold of the 301s.
	counted := func(n *Node) int64 {
		var sum int64
		for _, r := range n.Stuurinfo().Rows(stuurinfo.Query{Granularity: stuurinfo.Month}) {
			if r.Berichtsoort == "WMO301" {
				sum += r.Berichten
			}
		}
		return sum
	}
	eventually := func(n *Node, want int64) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for counted(n) != want && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		require.Equal(t, want, counted(n))
	}
	eventually(a, 6)
	eventually(b, 6)

	// The stream is read in order, so by the time the restarted node
	// counts the message stored while it was down, a replay of what it
	// had saved would have been counted too: exactly 7 means none.
	require.NoError(t, a.Shutdown(context.Background()))
	post(b)
	a = start(dirA)
	eventually(a, 7)
	post(a)
	eventually(a, 8)
	eventually(b, 8)
	assert.Positive(t, a.Stuurinfo().Position())
}

// TestInsightTapStateJoinsAtTheHead: state files written by a tap (no
// stream position: Pebble, or a build before the products followed the
// stream) already count their node's history, so the node follows the
// stream from its head instead of counting the history again.
func TestInsightTapStateJoinsAtTheHead(t *testing.T) {
	srv := natstest.Start(t)
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
	dir := t.TempDir()
	cfg := Config{Dev: true, Addr: "127.0.0.1:0", StoreURL: srv.ClientURL() + "?replicas=1",
		Store: pebble.Config{Dir: dir + "/data"}, Insight: InsightConfig{Enabled: true}, Logger: log}
	n, err := Start(context.Background(), cfg)
	require.NoError(t, err)
	s, ok := bericht.Lookup("WMO301")
	require.True(t, ok)
	gen := sample.New(22)
	post := func() {
		t.Helper()
		m, err := gen.Heen(s, sample.Options{Afzender: "0384", Ontvanger: "42420001"})
		require.NoError(t, err)
		code, body := call(t, http.MethodPost, n.URL()+"/v1/berichten", "dev-0384", "application/xml", string(m.XML))
		require.Equal(t, http.StatusAccepted, code, string(body))
	}
	post()
	post()
	require.NoError(t, n.Shutdown(context.Background()))

	// The state a tap would have left: one 301 counted, no position.
	tapped := stuurinfo.NewAggregates(nil)
	tapped.Record(&stuurinfo.Observation{Soort: "WMO301", Sender: "0384", Recipient: "42420001", Received: time.Now()})
	require.NoError(t, tapped.SaveFile(dir+"/stuurinfo.gob"))

	n, err = Start(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { n.Close() })
	post()
	total := func() (sum int64) {
		for _, r := range n.Stuurinfo().Rows(stuurinfo.Query{Granularity: stuurinfo.Month}) {
			sum += r.Berichten
		}
		return sum
	}
	deadline := time.Now().Add(30 * time.Second)
	for total() < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	assert.Equal(t, int64(2), total(), "the tap's count plus the new message; the two before are not counted again")
}
