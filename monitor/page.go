package monitor

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/knooppunt/knooppunt/chart"
	"github.com/knooppunt/knooppunt/store"
)

// Bounds of the page's tables: the page answers in bounded time however
// many parties and quarantined messages there are.
const (
	mailboxRows    = 100             // parties with pending messages shown, the oldest waiting first
	quarantineRows = 50              // quarantined messages listed
	mailboxBudget  = 2 * time.Second // for reading every mailbox's summary
)

// bucketWords name one bucket of each span, for the charts' titles.
var bucketWords = map[string]string{"uur": "minuut", "dag": "kwartier", "week": "2 uur", "12weken": "dag"}

var weekdagen = [...]string{"zo", "ma", "di", "wo", "do", "vr", "za"}

var maandAfk = [...]string{"jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec"}

// bucketLabel names a bucket on a chart's axis.
func bucketLabel(span string, t time.Time) string {
	switch span {
	case "week":
		return fmt.Sprintf("%s %02du", weekdagen[t.Weekday()], t.Hour())
	case "12weken":
		return fmt.Sprintf("%d %s", t.Day(), maandAfk[t.Month()-1])
	default:
		return fmt.Sprintf("%02d:%02d", t.Hour(), t.Minute())
	}
}

type (
	spanLink struct {
		Name, Title string
		Current     bool
	}
	tile       struct{ ID, Label, Value string }
	codeRow    struct{ Code, Count string }
	mailboxRow struct {
		Party, Name, Pending, Leased, Oldest, Age string
	}
	quarantineRow struct {
		ID, Soort, Sender, Recipient, Received, Deliveries string
	}
	pushRow struct {
		Party, URL, State, Failures, LastDelivery, LastFailure string
		Bad                                                    bool
	}
)

// view is what the template writes; every number and date in it is
// written the Dutch way already.
type view struct {
	Span                            Span
	Spans                           []spanLink
	Updated                         string
	Refresh                         int
	Tiles                           []tile
	Stored, Refused, Latency, Open  template.HTML
	Refusals                        []codeRow
	Mailboxes                       []mailboxRow
	MailboxesEmpty, MailboxesShown  string
	MailboxesPartial                bool
	Leased                          string
	Quarantine                      []quarantineRow
	QuarantineTotal                 string
	QuarantineMore                  bool
	Push                            []pushRow
	PushConfigured                  bool
	OutboxMoved, OutboxErrors, Feed string
}

const pageHTML = `<!DOCTYPE html>
<html lang="nl"><head><meta charset="utf-8"><meta http-equiv="refresh" content="{{.Refresh}}">
<title>Knooppunt — beheer — {{.Span.Title}}</title>
<style>
body{font-family:system-ui,sans-serif;margin:24px;color:#1b1b1b;background:#fff}
h1{font-size:22px;margin:0 0 4px} h2{font-size:16px;margin:24px 0 8px}
.sub{color:#555;margin-bottom:12px} nav a{margin-right:12px} nav a[aria-current]{font-weight:bold;color:#1b1b1b;text-decoration:none}
.tiles{display:flex;flex-wrap:wrap;gap:12px;margin-top:12px} .tile{border:1px solid #ccd;border-radius:6px;padding:10px 16px;min-width:120px}
.tile b{display:block;font-size:24px}
table{border-collapse:collapse;font-size:13px} td,th{border-bottom:1px solid #dde;padding:4px 10px;text-align:right}
th:first-child,td:first-child,td.l,th.l{text-align:left} .bad{color:#b00020;font-weight:bold}
svg text{font-family:system-ui,sans-serif}
</style></head><body>
<h1>Beheer — {{.Span.Title}}</h1>
<div class="sub">Bijgewerkt {{.Updated}} · ververst elke {{.Refresh}} s · <a href="/dashboard">stuurinformatie</a></div>
<nav>{{range .Spans}}<a href="?periode={{.Name}}"{{if .Current}} aria-current="page"{{end}}>{{.Title}}</a>{{end}}</nav>
<div class="tiles">{{range .Tiles}}<div class="tile" id="tile-{{.ID}}">{{.Label}}<b>{{.Value}}</b></div>{{end}}</div>
<h2>Opgeslagen berichten per {{bucket .Span.Name}}</h2>{{.Stored}}
<h2>Geweigerd per {{bucket .Span.Name}}</h2>{{.Refused}}
<table id="geweigerd"><tr><th>code</th><th>aantal</th></tr>
{{range .Refusals}}<tr><td>{{.Code}}</td><td>{{.Count}}</td></tr>
{{else}}<tr><td colspan="2">geen weigeringen</td></tr>
{{end}}</table>
<h2>Antwoordtijd van de API (p50 en p99)</h2>{{.Latency}}
<h2>Open in mailboxen</h2>{{.Open}}
<h2>Mailboxen</h2>
<p>{{.MailboxesShown}} met open berichten, de langst wachtende eerst; {{.MailboxesEmpty}} leeg. Geleased: {{.Leased}}.{{if .MailboxesPartial}} <strong>Onvolledig:</strong> niet elke mailbox kon op tijd worden gelezen.{{end}}</p>
<table id="mailboxen"><tr><th>partij</th><th class="l">naam</th><th>open</th><th>geleased</th><th>oudste</th><th>wacht</th></tr>
{{range .Mailboxes}}<tr><td>{{.Party}}</td><td class="l">{{.Name}}</td><td>{{.Pending}}</td><td>{{.Leased}}</td><td>{{.Oldest}}</td><td>{{.Age}}</td></tr>
{{end}}</table>
<h2>Quarantaine</h2>
<p>{{.QuarantineTotal}} in quarantaine{{if .QuarantineMore}}; de eerste {{len .Quarantine}} hieronder (alle via <code>knooppunt quarantine list</code>){{end}}.</p>
<table id="quarantaine"><tr><th>id</th><th>berichtsoort</th><th>afzender</th><th>ontvanger</th><th>ontvangen</th><th>bezorgpogingen</th></tr>
{{range .Quarantine}}<tr><td>{{.ID}}</td><td>{{.Soort}}</td><td>{{.Sender}}</td><td>{{.Recipient}}</td><td>{{.Received}}</td><td>{{.Deliveries}}</td></tr>
{{else}}<tr><td colspan="6">geen berichten in quarantaine</td></tr>
{{end}}</table>
<h2>Push-endpoints</h2>
{{if .PushConfigured}}<table id="push"><tr><th>partij</th><th class="l">endpoint</th><th class="l">toestand</th><th>fouten op rij</th><th>laatst bezorgd</th><th>laatste fout</th></tr>
{{range .Push}}<tr><td>{{.Party}}</td><td class="l">{{.URL}}</td><td class="l{{if .Bad}} bad{{end}}">{{.State}}</td><td>{{.Failures}}</td><td>{{.LastDelivery}}</td><td>{{.LastFailure}}</td></tr>
{{end}}</table>{{else}}<p>Geen partij ontvangt per push.</p>{{end}}
<h2>Audittrail en feed</h2>
<table id="achterstand"><tr><td>naar de audittrail verplaatst ({{.Span.Title}})</td><td>{{.OutboxMoved}}</td></tr>
<tr><td>mislukte verplaatsingen ({{.Span.Title}})</td><td>{{.OutboxErrors}}</td></tr>
<tr><td>feed: wijzigingen die de traagste volger nog niet heeft vastgelegd</td><td>{{.Feed}}</td></tr></table>
</body></html>
`

var page = template.Must(template.New("beheer").Funcs(template.FuncMap{
	"bucket": func(span string) string { return bucketWords[span] },
}).Parse(pageHTML))

// ServeHTTP serves the operator's page (GET, operators only: the caller
// is checked by whoever mounts it). Query parameter periode picks the
// range: uur (default), dag, week or 12weken.
func (m *Monitor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	si := 0
	if p := r.URL.Query().Get("periode"); p != "" {
		si = -1
		for i, s := range Spans {
			if s.Name == p {
				si = i
			}
		}
		if si < 0 {
			http.Error(w, "periode must be uur, dag, week or 12weken", http.StatusBadRequest)
			return
		}
	}
	m.sample() // the page shows the moment it is asked for
	v := m.view(r.Context(), si)
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
	if err := page.Execute(w, v); err != nil {
		m.cfg.Logger.Debug().Err(err).Msg("writing the operator page") // the browser went away
	}
}

// view gathers the page of span si at this moment.
func (m *Monitor) view(ctx context.Context, si int) view {
	span := Spans[si]
	now := m.cfg.Now()
	v := view{Span: span, Updated: chart.DateTime(now.In(m.cfg.Location)), Refresh: 30}
	if span.Width > time.Minute {
		v.Refresh = 60
	}
	for i, s := range Spans {
		v.Spans = append(v.Spans, spanLink{Name: s.Name, Title: s.Title, Current: i == si})
	}

	m.mu.Lock()
	starts, slots := m.hist.Rings[si].window(now)
	values := func(name string, gap float64) []float64 {
		out := make([]float64, len(slots))
		series := m.hist.Rings[si].Values[name]
		for k, i := range slots {
			switch {
			case i < 0 || series == nil:
				out[k] = gap
			default:
				out[k] = series[i]
			}
		}
		return out
	}
	stored := values(seriesStored, 0)
	refused := make([]float64, len(slots))
	byCode := map[string]float64{}
	latency := make([]map[string]float64, len(slots))
	total := map[string]float64{}
	for name, series := range m.hist.Rings[si].Values {
		code, isRefusal := strings.CutPrefix(name, refusedPrefix)
		isLatency := strings.HasPrefix(name, latencyPrefix)
		for k, i := range slots {
			if i < 0 {
				continue
			}
			switch {
			case isRefusal:
				refused[k] += series[i]
				byCode[code] += series[i]
			case isLatency:
				if latency[k] == nil {
					latency[k] = map[string]float64{}
				}
				latency[k][name] += series[i]
				total[name] += series[i]
			}
		}
	}
	open := values(seriesPending, -1)
	feed := values(seriesFeed, -1)
	moved, moveErrors := sum(values(seriesOutboxMoved, 0)), sum(values(seriesOutboxErrors, 0))
	m.mu.Unlock()

	labels := make([]string, len(starts))
	for i, s := range starts {
		labels[i] = bucketLabel(span.Name, s.In(m.cfg.Location))
	}
	p50, p99 := make([]float64, len(slots)), make([]float64, len(slots))
	for k := range slots {
		b := latencyBuckets(latency[k])
		p50[k], p99[k] = quantile(0.5, b), quantile(0.99, b)
	}
	word := bucketWords[span.Name]
	v.Stored = chart.Bars("chart-opgeslagen", "opgeslagen berichten per "+word, labels, stored, chart.Int[float64], 0)
	v.Refused = chart.Bars("chart-geweigerd", "weigeringen per "+word, labels, refused, chart.Int[float64], 0)
	v.Latency = chart.Lines("chart-antwoordtijd", "antwoordtijd p50 en p99", labels,
		[]chart.Series{{Name: "p50", Colour: chart.Blue, Values: p50}, {Name: "p99", Colour: chart.Orange, Values: p99}}, chart.Seconds)
	v.Open = chart.Lines("chart-open", "open berichten in mailboxen", labels,
		[]chart.Series{{Name: "open", Colour: chart.Blue, Values: open}}, chart.Int[float64])

	for code, n := range byCode {
		if n > 0 {
			v.Refusals = append(v.Refusals, codeRow{Code: code, Count: chart.Int(n)})
		}
	}
	sort.Slice(v.Refusals, func(i, j int) bool { return v.Refusals[i].Code < v.Refusals[j].Code })

	all := latencyBuckets(total)
	stats := m.cfg.Store.Stats()
	v.Tiles = []tile{
		{"opgeslagen", "Opgeslagen", chart.Int(sum(stored))},
		{"per-minuut", "Per minuut", chart.Decimal(sum(stored)/(float64(span.Buckets)*span.Width.Minutes()), 1)},
		{"geweigerd", "Geweigerd", chart.Int(sum(refused))},
		{"p50", "Antwoordtijd p50", latencyText(quantile(0.5, all))},
		{"p99", "Antwoordtijd p99", latencyText(quantile(0.99, all))},
		{"open", "Open in mailboxen", chart.Int(stats.Pending)},
		{"quarantaine", "In quarantaine", chart.Int(stats.Quarantined)},
	}
	v.OutboxMoved, v.OutboxErrors = chart.Int(moved), chart.Int(moveErrors)
	v.Feed = "–"
	if f := feed[len(feed)-1]; f >= 0 {
		v.Feed = chart.Int(f)
	}

	m.mailboxes(ctx, now, &v)
	m.quarantine(ctx, stats, &v)
	m.push(&v)
	return v
}

func latencyText(s float64) string {
	if s < 0 {
		return "–"
	}
	return chart.Seconds(s)
}

func sum(v []float64) float64 {
	t := 0.0
	for _, x := range v {
		t += x
	}
	return t
}

// mailboxes fills the table of parties with pending messages.
func (m *Monitor) mailboxes(ctx context.Context, now time.Time, v *view) {
	ctx, cancel := context.WithTimeout(ctx, mailboxBudget)
	defer cancel()
	type row struct {
		p Party
		s store.MailboxSummary
	}
	var rows []row
	empty, leased := 0, int64(0)
	for _, p := range m.cfg.Parties() {
		s, err := m.cfg.Store.Mailbox(ctx, p.Code)
		if err != nil {
			v.MailboxesPartial = true
			if ctx.Err() != nil {
				break
			}
			continue
		}
		v.MailboxesPartial = v.MailboxesPartial || s.Partial
		leased += s.Leased
		if s.Pending == 0 {
			empty++
			continue
		}
		rows = append(rows, row{p, s})
	}
	sort.Slice(rows, func(i, j int) bool {
		if !rows[i].s.Oldest.Equal(rows[j].s.Oldest) {
			return rows[i].s.Oldest.Before(rows[j].s.Oldest)
		}
		return rows[i].p.Code < rows[j].p.Code
	})
	v.MailboxesShown = chart.Int(len(rows)) + " " + plural(len(rows), "mailbox", "mailboxen")
	v.MailboxesEmpty = chart.Int(empty)
	v.Leased = chart.Int(leased)
	if len(rows) > mailboxRows {
		rows = rows[:mailboxRows]
		v.MailboxesShown += " (de eerste " + strconv.Itoa(mailboxRows) + " hieronder)"
	}
	for _, r := range rows {
		pending := chart.Int(r.s.Pending)
		if r.s.Partial {
			pending = "≥ " + pending
		}
		v.Mailboxes = append(v.Mailboxes, mailboxRow{Party: r.p.Code, Name: r.p.Name, Pending: pending,
			Leased: chart.Int(r.s.Leased), Oldest: chart.DateTime(r.s.Oldest.In(m.cfg.Location)),
			Age: chart.Duration(max(0, now.Sub(r.s.Oldest)))})
	}
}

func plural(n int, one, more string) string {
	if n == 1 {
		return one
	}
	return more
}

// quarantine fills the quarantine list.
func (m *Monitor) quarantine(ctx context.Context, stats store.Stats, v *view) {
	v.QuarantineTotal = chart.Int(stats.Quarantined)
	entries, err := m.cfg.Store.Quarantined(ctx, store.ID{}, quarantineRows)
	if err != nil {
		m.cfg.Logger.Warn().Err(err).Msg("listing the quarantine for the operator page")
		v.QuarantineTotal += " (de lijst kon niet worden gelezen)"
		return
	}
	v.QuarantineMore = stats.Quarantined > int64(len(entries))
	for _, e := range entries {
		v.Quarantine = append(v.Quarantine, quarantineRow{ID: e.ID.String(), Soort: e.Soort, Sender: e.Sender,
			Recipient: e.Recipient, Received: chart.DateTime(e.Received.In(m.cfg.Location)), Deliveries: chart.Int(e.Deliveries)})
	}
}

// push fills the push endpoints' table.
func (m *Monitor) push(v *view) {
	if m.cfg.Push == nil {
		return
	}
	when := func(t time.Time) string {
		if t.IsZero() {
			return "–"
		}
		return chart.DateTime(t.In(m.cfg.Location))
	}
	for _, h := range m.cfg.Push() {
		v.PushConfigured = true
		row := pushRow{Party: h.Party, URL: h.URL, State: "in orde", Failures: chart.Int(h.Failures),
			LastDelivery: when(h.LastDelivery), LastFailure: when(h.LastFailure)}
		switch {
		case h.BreakerOpen:
			row.State, row.Bad = "onderbroken tot "+chart.DateTime(h.OpenUntil.In(m.cfg.Location)), true
		case h.Failures > 0:
			row.State, row.Bad = "storing", true
		case h.LastDelivery.IsZero():
			row.State = "nog niets bezorgd"
		}
		v.Push = append(v.Push, row)
	}
}
