package main

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/chart"
	"github.com/knooppunt/knooppunt/internal/browser"
	"github.com/knooppunt/knooppunt/sample"
)

// TestDashboardsInChromium drives Debian's Chromium through a running
// switch as people would: it logs in at /login with a dev token, and reads
// the operations page (operator), the stuurinformatie of a gemeente and of
// a samenwerkingsverband from the rendered DOM. Every figure is checked
// against the traffic the test sent, and a screenshot against the charts'
// colour.
func TestDashboardsInChromium(t *testing.T) {
	n := startNodeProcess(t, "--data", t.TempDir()+"/data")
	hc := &http.Client{Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	ctx := context.Background()

	// The traffic, and what it must show.
	gen := sample.New(77)
	wmo301, _ := bericht.Lookup("WMO301")
	send := func(party, afzender, ontvanger string, times int) {
		for range times {
			m, err := gen.Heen(wmo301, sample.Options{Afzender: afzender, Ontvanger: ontvanger})
			require.NoError(t, err)
			code, body, err := haDo(ctx, hc, http.MethodPost, n.url+"/v1/berichten", party, m.XML)
			require.NoError(t, err)
			require.Equal(t, http.StatusAccepted, code, string(body))
		}
	}
	send("0384", "0384", "42420001", 5)
	send("0599", "0599", "65656055", 3)
	send("swv-demo-isd", "0606", "12345678", 2)
	const stored = 10
	refusals := map[string]int{}
	refuse := func(party string, body []byte) {
		code, answer, err := haDo(ctx, hc, http.MethodPost, n.url+"/v1/berichten", party, body)
		require.NoError(t, err)
		require.GreaterOrEqual(t, code, 400)
		var e struct{ Code string }
		require.NoError(t, json.Unmarshal(answer, &e), string(answer))
		refusals[e.Code]++
	}
	m, err := gen.Heen(wmo301, sample.Options{Afzender: "0384", Ontvanger: "42420001"})
	require.NoError(t, err)
	refuse("nobody", m.XML)   // an unknown token
	refuse("nobody", m.XML)   //
	refuse("operator", m.XML) // not a party
	refuse("0384", []byte(`<?xml version="1.0"?><Bericht>`))
	refuse("0384", bytes.Replace(m.XML, []byte("<"), []byte("<x"), 3))
	// One message of 65656055 is leased.
	code, _, err := haDo(ctx, hc, http.MethodGet, n.url+"/v1/mailbox?limit=1", "65656055", nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, code)
	// The products follow the store's feed: wait until they have it all.
	require.Eventually(t, func() bool {
		_, page, err := haDo(ctx, hc, http.MethodGet, n.url+"/dashboard", "operator", nil)
		return err == nil && bytes.Contains(page, []byte(`id="tile-berichten">Berichten<b>`+chart.Int(stored)+`</b>`))
	}, 30*time.Second, 100*time.Millisecond)

	b := browser.Start(t)
	// A wrong token gets the form again, and no session.
	b.Do("a wrong token", chromedp.Navigate(n.url+"/login"),
		chromedp.SendKeys(chromedp.CSS(`input[name="token"]`), "dev-nobody"),
		chromedp.Submit(chromedp.CSS(`form`)),
		chromedp.WaitVisible(chromedp.CSS(`[role="alert"]`)))
	refusals["unauthenticated"]++

	// The operator.
	b.Login(n.url, "dev-operator")
	assert.Equal(t, chart.Int(stored), b.Text(`#tile-berichten b`))
	b.Open(n.url+"/operations", "#tile-opgeslagen")
	assert.Equal(t, chart.Int(stored), b.Text(`#tile-opgeslagen b`))
	assert.Equal(t, chart.Int(stored), b.Text(`#tile-open b`))
	assert.Equal(t, "0", b.Text(`#tile-quarantaine b`))
	total := 0
	table := b.HTML(`#geweigerd`)
	for code, count := range refusals {
		total += count
		assert.Contains(t, table, "<tr><td>"+code+"</td><td>"+chart.Int(count)+"</td></tr>")
	}
	assert.Equal(t, chart.Int(total), b.Text(`#tile-geweigerd b`), table)
	assert.NotEqual(t, "–", b.Text(`#tile-p50 b`), "latencies measured")
	boxes := b.HTML(`#mailboxen`)
	for _, row := range []struct{ party, pending, leased string }{{"42420001", "5", "0"}, {"65656055", "3", "1"}, {"12345678", "2", "0"}} {
		assert.Contains(t, boxes, "<tr><td>"+row.party+"</td><td class=\"l\">Demo zorgaanbieder "+row.party+"</td><td>"+row.pending+"</td><td>"+row.leased+"</td>")
	}
	assert.Contains(t, b.HTML(`#push`), "http://127.0.0.1:8082/", "the dev registry's push endpoint")
	shot := b.Screenshot()
	if keep := os.Getenv("DASHBOARD_SCREENSHOT"); keep != "" { // to look at it
		require.NoError(t, os.WriteFile(keep, shot, 0o600))
	}
	img, err := png.Decode(bytes.NewReader(shot))
	require.NoError(t, err)
	assert.Greater(t, browser.CountColour(img, 0x2a, 0x6f, 0xb0), 500, "the bars and lines are drawn")

	// A gemeente: its own figures, per aanbieder.
	b.Login(n.url, "dev-0384")
	assert.Contains(t, b.Text(`h1`), "gemeente 0384")
	assert.Equal(t, "5", b.Text(`#tile-berichten b`))
	assert.Contains(t, b.HTML(`#per-aanbieder`), "<tr><td>42420001</td><td>5</td>")
	assert.NotContains(t, b.HTML(`#per-aanbieder`), "65656055", "not another gemeente's aanbieder")

	// A samenwerkingsverband: the gemeente it acts for.
	b.Login(n.url, "dev-swv-demo-isd")
	assert.Contains(t, b.Text(`h1`), "samenwerkingsverband swv-demo-isd")
	assert.Contains(t, b.Text(`.sub`), "0606")
	assert.Equal(t, "2", b.Text(`#tile-berichten b`))
	assert.Contains(t, b.HTML(`#per-aanbieder`), "<tr><td>12345678</td><td>2</td>")
}
