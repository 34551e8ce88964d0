package node

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/gateway"
	"github.com/knooppunt/knooppunt/insight"
	"github.com/knooppunt/knooppunt/samenloop"
	"github.com/knooppunt/knooppunt/sample"
	"github.com/knooppunt/knooppunt/store/pebble"
	"github.com/knooppunt/knooppunt/stuurinfo"
	"github.com/knooppunt/knooppunt/xsd"
)

var (
	bsnRe  = regexp.MustCompile(`<(?:\w+:)?Bsn>([0-9]{9})<`)
	eindRe = regexp.MustCompile(`<(?:\w+:)?Einddatum>([0-9-]{10})<`)
)

func call(t *testing.T, method, url, token, ctype, body string) (int, []byte) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, b
}

// TestInsight runs a dev node with the information products on: a posted
// 301 shows in the stuurinformatie of its gemeente, and with a register
// copy holding the client the samenloop run puts one WLZ-SIGNAAL in the
// gemeente's mailbox; a rerun puts none. The aggregates survive a restart.
func TestInsight(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Dev: true, Addr: "127.0.0.1:0",
		Store:   pebble.Config{Dir: filepath.Join(dir, "data")},
		Insight: InsightConfig{Addr: "127.0.0.1:0"},
		Logger:  zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)}
	n, err := Start(context.Background(), cfg)
	require.NoError(t, err)
	defer n.Close()

	// A 301 whose toewijzing is still active today.
	g := sample.New(42)
	s, _ := bericht.Lookup("WMO301")
	var m *sample.Message
	today := time.Now().UTC().Format("2006-01-02")
	for m == nil || eindRe.Match(m.XML) && string(eindRe.FindSubmatch(m.XML)[1]) < today {
		m, err = g.Heen(s, sample.Options{Afzender: "0363", Ontvanger: "12345678", Products: 1})
		require.NoError(t, err)
	}
	code, body := call(t, "POST", n.URL()+"/v1/berichten", "dev-0363", "application/xml", string(m.XML))
	require.Equal(t, http.StatusAccepted, code, string(body))

	// The tap feeds the aggregates off the ingest path: wait for it.
	deadline := time.Now().Add(20 * time.Second)
	for len(n.Stuurinfo().Rows(stuurinfo.Query{Granularity: stuurinfo.Month})) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	code, body = call(t, "GET", n.InsightURL()+"/v1/stuurinfo?granularity=maand", "dev-0363", "", "")
	require.Equal(t, 200, code, string(body))
	var rows []stuurinfo.Row
	require.NoError(t, json.Unmarshal(body, &rows))
	require.Len(t, rows, 1)
	assert.Equal(t, "WMO301", rows[0].Berichtsoort)
	assert.Equal(t, int64(1), rows[0].Berichten)
	code, body = call(t, "GET", n.InsightURL()+"/v1/stuurinfo", "dev-0384", "", "")
	require.Equal(t, 200, code)
	assert.JSONEq(t, "[]", string(body), "another gemeente sees nothing of 0363")
	code, _ = call(t, "GET", n.InsightURL()+"/dashboard", "dev-operator", "", "")
	assert.Equal(t, 200, code)
	code, _ = call(t, "GET", n.InsightURL()+"/v1/stuurinfo/nza", "dev-nza", "", "")
	assert.Equal(t, 200, code)

	register := samenloop.RegisterHeader + "\n" + string(bsnRe.FindSubmatch(m.XML)[1]) + ",ja,2000-01-01,2000-01-01,\n"
	code, body = call(t, "POST", n.InsightURL()+"/v1/samenloop/wlz-register", "dev-0363", "text/csv", register)
	assert.Equal(t, 403, code, "operators only")
	code, _ = call(t, "POST", n.InsightURL()+"/v1/samenloop/run", "dev-auditor", "", "")
	assert.Equal(t, 403, code, "auditors read, they do not run")
	code, body = call(t, "POST", n.InsightURL()+"/v1/samenloop/wlz-register", "dev-operator", "text/csv", register)
	require.Equal(t, 200, code, string(body))
	for i, want := range []float64{1, 0} {
		code, body = call(t, "POST", n.InsightURL()+"/v1/samenloop/run", "dev-operator", "", "")
		require.Equal(t, 200, code, string(body))
		var sum map[string]any
		require.NoError(t, json.Unmarshal(body, &sum))
		assert.Equal(t, want, sum["signals"], "run %d", i+1)
	}
	code, body = call(t, "GET", n.URL()+"/v1/mailbox", "dev-0363", "", "")
	require.Equal(t, 200, code, string(body))
	assert.Contains(t, string(body), samenloop.Berichtsoort)

	require.NoError(t, n.Shutdown(context.Background()))
	n2, err := Start(context.Background(), cfg)
	require.NoError(t, err)
	defer n2.Close()
	assert.NotEmpty(t, n2.Stuurinfo().Rows(stuurinfo.Query{Granularity: stuurinfo.Month}), "aggregates saved at shutdown")
	sum, err := n2.Samenloop().Run(context.Background())
	require.NoError(t, err, "the register copy survives a restart")
	assert.Equal(t, 1, sum.Active, "and the toewijzing")
	assert.Zero(t, sum.Signals, "and what was signalled")
}

// TestProductsReadTheValidationTree: a message validated with its rules
// reaches the information products, through the store's feed, as the
// tree validation built, without its bytes being read again; one without
// a tree (the switch's own answers) with its bytes, read from the store.
// A message the store refused leaves nothing held.
func TestProductsReadTheValidationTree(t *testing.T) {
	ctx := context.Background()
	set, err := xsd.Load(xsd.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = set.Close() })
	st, err := pebble.Open(ctx, pebble.Config{Dir: filepath.Join(t.TempDir(), "data")})
	require.NoError(t, err)
	defer st.Close()
	trees := insight.NewTrees()
	var mu sync.Mutex
	var seen []*stuurinfo.Observation
	f := stuurinfo.Follow(stuurinfo.FollowerConfig{Feed: st, Store: st, Trees: trees.Take,
		Observers: []stuurinfo.Observer{stuurinfo.ObserverFunc(func(o *stuurinfo.Observation) {
			mu.Lock()
			seen = append(seen, o)
			mu.Unlock()
		})}})
	defer f.Close()
	sp := storePort{s: st, trees: trees}
	g := sample.New(5)
	s, _ := bericht.Lookup("WMO301")
	var first gateway.Message
	for i, withTree := range []bool{true, false} {
		m, err := g.Heen(s, sample.Options{})
		require.NoError(t, err)
		h, _, parsed, err := validatorPort{set}.ValidateRules(ctx, m.XML)
		require.NoError(t, err, "message %d", i)
		if !withTree {
			parsed = nil
		}
		gm := gateway.NewMessage(h, h.Sender(), gateway.Route{Recipient: h.Ontvanger, Mailbox: h.Ontvanger}, m.XML, parsed, time.Now(), time.Now())
		if i == 0 {
			first = gm
		}
		_, err = sp.Put(ctx, gm)
		require.NoError(t, err)
	}
	// A conflicting resend (same Identificatie, other bytes) is refused.
	conflict := first
	conflict.Body = append(bytes.Clone(first.Body), ' ')
	_, err = sp.Put(ctx, conflict)
	require.Error(t, err)
	head, err := st.Head(ctx)
	require.NoError(t, err)
	require.NoError(t, f.WaitFor(ctx, head))
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, seen, 2)
	require.NotNil(t, seen[0].Tree)
	assert.Equal(t, "Bericht", seen[0].Tree.Name(0))
	assert.Nil(t, seen[0].Body, "the bytes are not read beside the tree")
	assert.Nil(t, seen[1].Tree)
	assert.NotEmpty(t, seen[1].Body)
	assert.Nil(t, trees.Take(sha256.Sum256(first.Body)), "not held once the follower took it")
	assert.Nil(t, trees.Take(sha256.Sum256(conflict.Body)), "not held once the store refused it")
}
