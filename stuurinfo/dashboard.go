package stuurinfo

import (
	"fmt"
	"html"
	"html/template"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/knooppunt/knooppunt/bericht"
)

// weeks is how far back the dashboard looks.
const weeks = 12

// dashboardData feeds the page template; every number and date in it is
// already written the Dutch way (nl-NL), as the page is lang="nl".
type dashboardData struct {
	Title        string // Gemeente 0363, Samenwerkingsverband …, or all gemeenten
	Scope        string
	Van, Tot     string
	Volume       template.HTML
	Afkeur       template.HTML
	Doorloop     template.HTML
	Mailboxes    *tiles
	PerSoort     []tableRow
	PerAanbieder []tableRow // a gemeente's or samenwerkingsverband's page only
	TotalBerich  string
}

// tiles are the store-wide counters, written out.
type tiles struct{ Open, Quarantined string }

// tableRow is one line of a table on the page: a berichtsoort or an
// aanbieder with its figures written out.
type tableRow struct {
	Name                                                    string
	Berichten, Technisch, Afkeur, Prestaties, Starts, Stops string
	Gedeclareerd, Afgewezen, BinnenNorm                     string
}

const pageHTML = `<!DOCTYPE html>
<html lang="nl"><head><meta charset="utf-8"><title>Knooppunt — stuurinformatie — {{.Title}}</title>
<style>
body{font-family:system-ui,sans-serif;margin:24px;color:#1b1b1b;background:#fff}
h1{font-size:22px;margin:0 0 4px} h2{font-size:16px;margin:24px 0 8px}
.sub{color:#555;margin-bottom:16px}
.tiles{display:flex;gap:16px} .tile{border:1px solid #ccd;border-radius:6px;padding:12px 18px;min-width:140px}
.tile b{display:block;font-size:26px}
table{border-collapse:collapse;font-size:13px} td,th{border-bottom:1px solid #dde;padding:4px 10px;text-align:right}
th:first-child,td:first-child{text-align:left}
svg text{font-family:system-ui,sans-serif}
</style></head><body>
<h1>Stuurinformatie — {{.Title}}</h1>
<div class="sub">{{.Scope}} · weken van {{.Van}} tot en met {{.Tot}}</div>
<div class="tiles">
<div class="tile" id="tile-berichten">Berichten<b>{{.TotalBerich}}</b></div>
{{with .Mailboxes}}<div class="tile" id="tile-open">Open in mailboxen<b>{{.Open}}</b></div>
<div class="tile" id="tile-quarantaine">In quarantaine<b>{{.Quarantined}}</b></div>{{end}}
</div>
<h2>Berichten per week</h2>{{.Volume}}
<h2>Afkeur: aandeel antwoorden (retourberichten en declaratie-antwoorden) dat afkeurt</h2>{{.Afkeur}}
<h2>Doorlooptijd binnen de norm (werkdagen)</h2>{{.Doorloop}}
<h2>Per berichtsoort</h2>
<table id="per-soort"><tr><th>berichtsoort</th><th>berichten</th><th>technisch afgekeurd</th><th>afkeur</th><th>afgekeurde prestaties</th><th>starts</th><th>stops</th><th>gedeclareerd</th><th>afgewezen</th></tr>
{{range .PerSoort}}<tr><td>{{.Name}}</td><td>{{.Berichten}}</td><td>{{.Technisch}}</td><td>{{.Afkeur}}</td><td>{{.Prestaties}}</td><td>{{.Starts}}</td><td>{{.Stops}}</td><td>{{.Gedeclareerd}}</td><td>{{.Afgewezen}}</td></tr>
{{end}}</table>
{{if .PerAanbieder}}<h2>Per aanbieder</h2>
<table id="per-aanbieder"><tr><th>aanbieder</th><th>berichten</th><th>technisch afgekeurd</th><th>afkeur</th><th>gedeclareerd</th><th>afgewezen</th><th>binnen de norm</th></tr>
{{range .PerAanbieder}}<tr><td>{{.Name}}</td><td>{{.Berichten}}</td><td>{{.Technisch}}</td><td>{{.Afkeur}}</td><td>{{.Gedeclareerd}}</td><td>{{.Afgewezen}}</td><td>{{.BinnenNorm}}</td></tr>
{{end}}</table>{{end}}
</body></html>
`

var page = template.Must(template.New("dashboard").Parse(pageHTML))

// scope is how the page names whose figures it shows: its title and the
// gemeenten. A non-operator whose code is no gemeentecode is a
// samenwerkingsverband.
func scope(p Principal, gemeenten []string) (title, sub string) {
	if p.Operator {
		return "alle gemeenten", "Beheerder: alle gemeenten"
	}
	var own []string
	for _, g := range gemeenten {
		if gemeentecode(g) {
			own = append(own, g)
		}
	}
	sort.Strings(own)
	if gemeentecode(p.ID) {
		return "gemeente " + p.ID, "Gemeente " + p.ID
	}
	word := "gemeenten"
	if len(own) == 1 {
		word = "gemeente"
	}
	return "samenwerkingsverband " + p.ID, "Samenwerkingsverband " + p.ID + " voor " + word + " " + strings.Join(own, ", ")
}

func (h *handler) dashboard(w http.ResponseWriter, r *http.Request, p Principal) error {
	if p.NZa {
		return errNZaOnly
	}
	today := civil(h.cfg.Now().In(h.cfg.Location))
	van := fromDayNumber(periodStart(Week, today)).AddDate(0, 0, -7*(weeks-1))
	tot := today.AddDate(0, 0, 1)
	q := Query{Granularity: Week, Van: van, Tot: tot, Totals: true}
	if !p.Operator {
		q.Gemeenten = h.cfg.GemeentenOf(p)
	}
	title, sub := scope(p, q.Gemeenten)
	rows := h.cfg.Aggregates.Rows(q)

	labels := make([]string, weeks)
	index := map[string]int{}
	for i := range labels {
		start := van.AddDate(0, 0, 7*i)
		labels[i] = periodLabel(Week, dayNumber(start))
		index[labels[i]] = i
	}
	volume := make([]float64, weeks)
	answers := make([]float64, weeks)
	afkeur := make([]float64, weeks)
	perNorm := map[string]*Counts{}
	perSoort := map[string]*Counts{}
	var total int64
	for _, row := range rows {
		i, ok := index[row.Periode]
		if !ok {
			continue
		}
		volume[i] += float64(row.Berichten)
		if s, ok := bericht.Lookup(row.Berichtsoort); ok && s.Answers() {
			answers[i] += float64(row.Berichten)
			afkeur[i] += float64(row.Afkeur)
		}
		total += row.Berichten
		if row.Norm != nil {
			c := perNorm[row.Norm.Name]
			if c == nil {
				c = &Counts{}
				perNorm[row.Norm.Name] = c
			}
			c.add(&row.Counts)
		}
		c := perSoort[row.Berichtsoort]
		if c == nil {
			c = &Counts{}
			perSoort[row.Berichtsoort] = c
		}
		c.add(&row.Counts)
	}
	share := make([]float64, weeks)
	for i := range share {
		if answers[i] > 0 {
			share[i] = 100 * afkeur[i] / answers[i]
		}
	}
	short := shortLabels(labels)
	d := dashboardData{Title: title, Scope: sub, Van: weekText(van), Tot: weekText(van.AddDate(0, 0, 7*(weeks-1))),
		TotalBerich: nlInt(total),
		Volume:      barChart("chart-volume", "berichten per week", short, volume, nlInt, 0),
		Afkeur:      barChart("chart-afkeur", "afkeur in procenten", short, share, nlPercent, 100),
	}
	var normLabels []string
	var within []float64
	for _, n := range Norms {
		c := perNorm[n.Name]
		v := -1.0
		label := fmt.Sprintf("%s ≤ %d wd", n.Name, n.Werkdagen)
		if c != nil && c.Gemeten > 0 {
			v = 100 * float64(c.BinnenNorm) / float64(c.Gemeten)
			label += fmt.Sprintf(" (gem. %s, n = %s)", nlDecimal(float64(c.Werkdagen)/float64(c.Gemeten), 1), nlInt(c.Gemeten))
		} else {
			label += " (geen metingen)"
		}
		normLabels = append(normLabels, label)
		within = append(within, v)
	}
	d.Doorloop = hbarChart("chart-doorlooptijd", normLabels, within)
	if h.cfg.Mailboxes != nil {
		if m, ok := h.cfg.Mailboxes(p); ok {
			d.Mailboxes = &tiles{Open: nlInt(m.Open), Quarantined: nlInt(m.Quarantined)}
		}
	}
	d.PerSoort = table(perSoort)
	if !p.Operator {
		perAanbieder := map[string]*Counts{}
		q.Totals = false
		for _, row := range h.cfg.Aggregates.Rows(q) {
			c := perAanbieder[row.Aanbieder]
			if c == nil {
				c = &Counts{}
				perAanbieder[row.Aanbieder] = c
			}
			c.add(&row.Counts)
		}
		d.PerAanbieder = table(perAanbieder)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	return page.Execute(w, d)
}

// table writes out the figures by name, in the order of the names.
func table(by map[string]*Counts) []tableRow {
	out := make([]tableRow, 0, len(by))
	for name, c := range by {
		r := tableRow{Name: name, Berichten: nlInt(c.Berichten), Technisch: nlInt(c.AfkeurTechnisch),
			Afkeur: nlInt(c.Afkeur), Prestaties: nlInt(c.AfkeurPrestaties), Starts: nlInt(c.Starts),
			Stops: nlInt(c.Stops), Gedeclareerd: nlEuro(c.Gedeclareerd), Afgewezen: nlEuro(c.Afgewezen + c.AfkeurTechnischBedrag),
			BinnenNorm: "–"}
		if c.Gemeten > 0 {
			r.BinnenNorm = nlPercent(100 * float64(c.BinnenNorm) / float64(c.Gemeten))
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// maanden are the Dutch names of the months.
var maanden = [...]string{"januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus",
	"september", "oktober", "november", "december"}

// nlDate writes a day the Dutch way: 7 december 2026.
func nlDate(t time.Time) string {
	return fmt.Sprintf("%d %s %d", t.Day(), maanden[t.Month()-1], t.Year())
}

// weekText names the ISO week that starts on monday: week 39 (21
// september 2026).
func weekText(monday time.Time) string {
	_, w := monday.ISOWeek()
	return fmt.Sprintf("week %d (%s)", w, nlDate(monday))
}

// nlInt writes n, rounded, with a point between thousands: 1.234.567.
func nlInt[T int64 | float64](n T) string { return nlDecimal(float64(n), 0) }

// nlDecimal writes x with decimals digits after a decimal comma and a
// point between thousands: 1.234,5.
func nlDecimal(x float64, decimals int) string {
	whole, frac, _ := strings.Cut(strconv.FormatFloat(x, 'f', decimals, 64), ".")
	neg := strings.HasPrefix(whole, "-")
	whole = strings.TrimPrefix(whole, "-")
	var b strings.Builder
	if neg && strings.Trim(whole+frac, "0") != "" {
		b.WriteByte('-')
	}
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte('.')
		}
		b.WriteRune(c)
	}
	if frac != "" {
		b.WriteString("," + frac)
	}
	return b.String()
}

// nlPercent writes a percentage without decimals: 12%.
func nlPercent(p float64) string { return nlDecimal(p, 0) + "%" }

// nlEuro writes an amount in cents as euros: € 1.234,56, € -12,00.
func nlEuro(cents int64) string {
	sign := ""
	if cents < 0 {
		sign, cents = "-", -cents
	}
	return fmt.Sprintf("€ %s%s,%02d", sign, nlInt(cents/100), cents%100)
}

// shortLabels turns 2026-W10 into W10.
func shortLabels(l []string) []string {
	out := make([]string, len(l))
	for i, s := range l {
		if j := strings.Index(s, "W"); j >= 0 {
			s = s[j:]
		}
		out[i] = s
	}
	return out
}

// Colours of the charts.
const (
	barColour  = "#2a6fb0"
	normColour = "#2f8f4e"
	gridColour = "#d8dce6"
)

// barChart renders a vertical bar chart as inline SVG, its values and
// scale written by format. max 0 scales to the largest value.
func barChart(id, title string, labels []string, values []float64, format func(float64) string, max float64) template.HTML {
	const w, h, left, bottom, top = 720.0, 220.0, 50.0, 28.0, 12.0
	if max == 0 {
		for _, v := range values {
			if v > max {
				max = v
			}
		}
		max = niceCeil(max)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg id="%s" xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" role="img" aria-label="%s">`,
		id, w, h, w, h, html.EscapeString(title))
	plotH := h - bottom - top
	for i := 0; i <= 4; i++ {
		y := top + plotH*float64(i)/4
		fmt.Fprintf(&b, `<line x1="%.0f" y1="%.1f" x2="%.0f" y2="%.1f" stroke="%s"/>`, left, y, w, y, gridColour)
		fmt.Fprintf(&b, `<text x="%.0f" y="%.1f" font-size="10" text-anchor="end" fill="#555">%s</text>`,
			left-4, y+3, html.EscapeString(format(max*float64(4-i)/4)))
	}
	slot := (w - left) / float64(len(values))
	for i, v := range values {
		bh := plotH * v / max
		x := left + slot*float64(i) + slot*0.15
		fmt.Fprintf(&b, `<rect class="bar" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s: %s</title></rect>`,
			x, top+plotH-bh, slot*0.7, bh, barColour, html.EscapeString(labels[i]), html.EscapeString(format(v)))
		fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" font-size="10" text-anchor="middle" fill="#333">%s</text>`,
			x+slot*0.35, h-10, html.EscapeString(labels[i]))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // every text is escaped above
}

// niceCeil rounds v up to 4, 8, 20 or 40 times a power of ten, so the
// four grid lines of a chart fall on round numbers.
func niceCeil(v float64) float64 {
	if v <= 4 {
		return 4
	}
	p := 1.0
	for p*40 < v {
		p *= 10
	}
	for _, m := range []float64{4, 8, 20, 40} {
		if m*p >= v {
			return m * p
		}
	}
	return 40 * p
}

// hbarChart renders percentages as horizontal bars, one per norm.
// A negative percentage means nothing was measured.
func hbarChart(id string, labels []string, pct []float64) template.HTML {
	const w, rowH, left = 720.0, 30.0, 260.0
	h := rowH*float64(len(pct)) + 10
	var b strings.Builder
	fmt.Fprintf(&b, `<svg id="%s" xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" role="img" aria-label="doorlooptijd binnen norm">`,
		id, w, h, w, h)
	for i, v := range pct {
		y := 5 + rowH*float64(i)
		fmt.Fprintf(&b, `<text x="0" y="%.1f" font-size="12" fill="#333">%s</text>`, y+17, html.EscapeString(labels[i]))
		fmt.Fprintf(&b, `<rect x="%.0f" y="%.1f" width="%.1f" height="20" fill="%s"/>`, left, y+3, w-left-60, gridColour)
		if v < 0 {
			fmt.Fprintf(&b, `<text x="%.0f" y="%.1f" font-size="12" fill="#333">–</text>`, w-52, y+17)
			continue
		}
		fmt.Fprintf(&b, `<rect class="bar" x="%.0f" y="%.1f" width="%.1f" height="20" fill="%s"/>`, left, y+3, (w-left-60)*v/100, normColour)
		fmt.Fprintf(&b, `<text x="%.0f" y="%.1f" font-size="12" fill="#333">%s</text>`, w-52, y+17, nlPercent(v))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // every text is escaped above
}
