package stuurinfo

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/knooppunt/knooppunt/sample"
)

// TestDashboardOfASamenwerkingsverband: its page is titled after the
// samenwerkingsverband and names its gemeenten, breaks its figures down per
// aanbieder, and writes numbers and dates the Dutch way; the operator's
// page has no aanbieder table.
func TestDashboardOfASamenwerkingsverband(t *testing.T) {
	g := sample.New(18)
	now := date("2026-05-20")
	f := newFeed(t)
	f.now = now.Add(9 * time.Hour)
	for i := range 1100 {
		ab := []string{"42420001", "65656055"}[i%2]
		f.send(heen(t, g, "WMO305", sample.Options{Afzender: ab, Ontvanger: "0606", Dagtekening: now, Products: 1}), nil)
	}
	d := heen(t, g, "WMO323", sample.Options{Afzender: "42420001", Ontvanger: "0606", Dagtekening: now})
	f.send(d, nil)
	h := Handler(HandlerConfig{Aggregates: f.a, Location: time.UTC, Now: func() time.Time { return now },
		Authenticate: func(r *http.Request) (Principal, bool) {
			if r.Header.Get("Authorization") == "Bearer op" {
				return Principal{ID: "beheer", Operator: true}, true
			}
			return Principal{ID: "swv-demo-isd"}, true
		},
		GemeentenOf: func(p Principal) []string { return []string{p.ID, "0606"} }})

	page := get(t, h, "swv", "/dashboard").Body.String()
	assert.Contains(t, page, "<title>Knooppunt — stuurinformatie — samenwerkingsverband swv-demo-isd</title>")
	assert.Contains(t, page, "Samenwerkingsverband swv-demo-isd voor gemeente 0606")
	assert.NotContains(t, page, "Gemeente swv-demo-isd")
	assert.Contains(t, page, "<b>1.101</b>", "messages with a point between thousands")
	assert.Contains(t, page, "week 10 (2 maart 2026)")
	assert.Contains(t, page, "week 21 (18 mei 2026)")
	assert.Contains(t, page, `id="per-aanbieder"`)
	assert.Regexp(t, `<td>42420001</td><td>551</td>`, page)
	assert.Regexp(t, `<td>65656055</td><td>550</td>`, page)
	euro := regexp.MustCompile(`<td>€ [0-9.]+,[0-9]{2}</td>`)
	assert.True(t, euro.MatchString(page), "amounts in euros with a decimal comma")
	assert.NotRegexp(t, `<td>[0-9]+\.[0-9]{2}</td>`, page, "no decimal points")

	op := get(t, h, "op", "/dashboard").Body.String()
	assert.Contains(t, op, "alle gemeenten")
	assert.False(t, strings.Contains(op, `id="per-aanbieder"`), "no aanbieder table store-wide")
}
