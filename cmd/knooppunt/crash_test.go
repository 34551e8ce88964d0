package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/audit"
	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/samenloop"
	"github.com/knooppunt/knooppunt/sample"
)

// TestKillKeepsAuditTrail SIGKILLs a switch (Pebble store, audit trail in
// DATA.audit) while clients post and fetch, five times over the same
// data: after each kill the switch starts again on the trail, the chain
// verifies, and every request that was answered 2xx — a message received,
// a message fetched — has its entry, because no answer leaves before its
// entry is synced: a fetch's in the trail, a receipt's in the store's
// commit, on whose feed the next start finds what the killed one had not
// written into the trail, each receipt once.
func TestKillKeepsAuditTrail(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills switch processes; skipped with -short")
	}
	data := t.TempDir() + "/data"
	wmo301, _ := bericht.Lookup("WMO301")
	gen := sample.New(41)
	var genMu sync.Mutex
	next := func() []byte {
		genMu.Lock()
		defer genMu.Unlock()
		m, err := gen.Heen(wmo301, sample.Options{Afzender: "0384", Ontvanger: "42420001"})
		require.NoError(t, err)
		return m.XML
	}
	client := &http.Client{Timeout: 10 * time.Second}
	received, fetched := map[string]bool{}, map[string]bool{}
	var mu sync.Mutex
	const rounds, perRound = 5, 60
	for round := range rounds {
		node := startNodeProcess(t, "--data", data, "--insight=false")
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		var answered sync.WaitGroup
		answered.Add(1)
		var once sync.Once
		var inRound atomic.Int64
		for c := range 8 {
			wg.Go(func() {
				for i := 0; ctx.Err() == nil; i++ {
					code, body, err := haDo(ctx, client, http.MethodPost, node.url+"/v1/berichten", "0384", next())
					if err != nil || code != http.StatusAccepted {
						continue // killed under it: neither answer nor entry is promised
					}
					var a struct{ ID string }
					if !assert.NoError(t, json.Unmarshal(body, &a)) {
						return
					}
					mu.Lock()
					received[a.ID] = true
					mu.Unlock()
					if inRound.Add(1) == perRound {
						once.Do(answered.Done)
					}
					if c%2 == 0 {
						code, _, err := haDo(ctx, client, http.MethodGet, node.url+"/v1/mailbox/"+a.ID, "42420001", nil)
						if err == nil && code == http.StatusOK {
							mu.Lock()
							fetched[a.ID] = true
							mu.Unlock()
						}
					}
				}
			})
		}
		answered.Wait() // the kill comes under load, after some answers
		require.NoError(t, node.cmd.Process.Kill(), "round %d", round)
		_ = node.cmd.Wait()
		cancel()
		wg.Wait()
	}

	// A last start opens the trail as the switch does (a torn tail would
	// be cut), then it is checked.
	node := startNodeProcess(t, "--data", data, "--insight=false")
	require.NoError(t, node.cmd.Process.Kill())
	_ = node.cmd.Wait()
	res, err := audit.Verify(data + ".audit")
	require.NoError(t, err, "the hash chain survives the kills")
	log, err := audit.Open(audit.Config{Dir: data + ".audit", PruneEvery: -1})
	require.NoError(t, err)
	defer log.Close()
	inTrail := map[audit.Action]map[string]int{audit.Received: {}, audit.Fetched: {}}
	for after := uint64(0); ; {
		page, more, err := log.Query(context.Background(), audit.Filter{After: after, Limit: audit.MaxQueryLimit})
		require.NoError(t, err)
		for _, e := range page {
			if m := inTrail[e.Action]; m != nil {
				m[e.MessageID]++
			}
			after = e.Seq
		}
		if !more {
			break
		}
	}
	for id := range received {
		assert.Equal(t, 1, inTrail[audit.Received][id], "message %s was answered 202: its receipt must be in the trail once", id)
	}
	for id := range fetched {
		assert.Positive(t, inTrail[audit.Fetched][id], "message %s was fetched but the fetch is not in the trail", id)
	}
	t.Logf("%d entries; %d receipts and %d fetches answered across %d kills, all in the trail", res.Entries, len(received), len(fetched), rounds)
}

// TestKillKeepsProductsExact SIGKILLs a switch with the products on while
// clients post toewijzingen, three times over the same data. The products
// follow the store's change feed from the position they saved, so after
// the last start their figures equal the messages the store holds — every
// message answered 202 among them, none counted twice, none lost with a
// kill: stuurinformatie's message count and samenloop's active
// toewijzingen (one product line each) both equal what the recipient's
// mailbox holds.
func TestKillKeepsProductsExact(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills switch processes; skipped with -short")
	}
	data := t.TempDir() + "/data"
	wmo301, _ := bericht.Lookup("WMO301")
	var n atomic.Int64
	next := func() []byte {
		i := n.Add(1)
		m, err := sample.New(i).Heen(wmo301, sample.Options{Afzender: "0384", Ontvanger: "42420001",
			Identificatie: fmt.Sprintf("K%d", i), Products: 1})
		require.NoError(t, err)
		return m.XML
	}
	client := &http.Client{Timeout: 10 * time.Second}
	acknowledged := map[string]bool{}
	var mu sync.Mutex
	const rounds, perRound = 3, 80
	for round := range rounds {
		node := startNodeProcess(t, "--data", data)
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		var inRound atomic.Int64
		enough := make(chan struct{})
		var once sync.Once
		for range 6 {
			wg.Go(func() {
				for ctx.Err() == nil {
					code, body, err := haDo(ctx, client, http.MethodPost, node.url+"/v1/berichten", "0384", next())
					if err != nil || code != http.StatusAccepted {
						continue // killed under it
					}
					var a struct{ ID string }
					if !assert.NoError(t, json.Unmarshal(body, &a)) {
						return
					}
					mu.Lock()
					acknowledged[a.ID] = true
					mu.Unlock()
					if inRound.Add(1) == perRound {
						once.Do(func() { close(enough) })
					}
				}
			})
		}
		<-enough // the kill comes under load
		require.NoError(t, node.cmd.Process.Kill(), "round %d", round)
		_ = node.cmd.Wait()
		cancel()
		wg.Wait()
	}

	node := startNodeProcess(t, "--data", data)
	ctx := context.Background()
	code, body, err := haDoTyped(ctx, client, http.MethodPost, node.url+"/v1/samenloop/wlz-register", "operator", "text/csv", []byte(samenloop.RegisterHeader+"\n"))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, code, string(body))
	code, body, err = haDo(ctx, client, http.MethodPost, node.url+"/v1/samenloop/run", "operator", nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, code, string(body))
	var run struct {
		Active int `json:"active_toewijzingen"`
	}
	require.NoError(t, json.Unmarshal(body, &run))
	code, body, err = haDo(ctx, client, http.MethodGet, node.url+"/v1/stuurinfo?granularity=month", "operator", nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, code, string(body))
	counted := 0
	for _, m := range regexp.MustCompile(`"berichten":(\d+)`).FindAllSubmatch(body, -1) {
		v, _ := strconv.Atoi(string(m[1]))
		counted += v
	}

	// What the store holds: the recipient's mailbox, drained.
	stored := map[string]bool{}
	for {
		code, body, err := haDo(ctx, client, http.MethodGet, node.url+"/v1/mailbox?limit=250", "42420001", nil)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, code, string(body))
		var list struct{ Berichten []struct{ ID string } }
		require.NoError(t, json.Unmarshal(body, &list))
		if len(list.Berichten) == 0 {
			break
		}
		for _, e := range list.Berichten {
			stored[e.ID] = true
			code, _, err := haDo(ctx, client, http.MethodDelete, node.url+"/v1/mailbox/"+e.ID, "42420001", nil)
			require.NoError(t, err)
			require.Equal(t, http.StatusNoContent, code)
		}
	}
	for id := range acknowledged {
		require.True(t, stored[id], "message %s was answered 202 but is not stored", id)
	}
	assert.Equal(t, len(stored), counted, "stuurinformatie counts every stored message once")
	assert.Equal(t, len(stored), run.Active, "samenloop holds every stored toewijzing once")
	t.Logf("%d stored (%d answered 202) across %d kills; counted %d, active %d", len(stored), len(acknowledged), rounds, counted, run.Active)
}

// haDoTyped is haDo with a content type of the caller's.
func haDoTyped(ctx context.Context, client *http.Client, method, url, party, ctype string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, fmt.Errorf("building %s %s: %w", method, url, err)
	}
	req.Header.Set("Authorization", "Bearer dev-"+party)
	req.Header.Set("Content-Type", ctype)
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}
