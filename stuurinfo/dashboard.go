package stuurinfo

import (
	"fmt"
	"html/template"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/chart"
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
	PerCategorie []categoryRow
	TotalBerich  string
}

// categoryRow is one line of the table per ProductCategorie, written out.
type categoryRow struct {
	Name, Toegewezen, Starts, Stops, Gedeclareerd string
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
<div class="sub">{{.Scope}} · weken van {{.Van}} tot en met {{.Tot}}{{if .Mailboxes}} · <a href="/operations">beheer</a>{{end}}</div>
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
<h2>Per productcategorie</h2>
<table id="per-categorie"><tr><th>productcategorie</th><th>toegewezen producten</th><th>starts</th><th>stops</th><th>gedeclareerd</th></tr>
{{range .PerCategorie}}<tr><td>{{.Name}}</td><td>{{.Toegewezen}}</td><td>{{.Starts}}</td><td>{{.Stops}}</td><td>{{.Gedeclareerd}}</td></tr>
{{else}}<tr><td colspan="5">geen productregels in deze weken</td></tr>
{{end}}</table>
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
	if s := r.URL.Query().Get("tot"); s != "" { // an earlier 12 weeks
		d, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return badRequest("bad-date", "tot must be a date YYYY-MM-DD")
		}
		if d.Before(today) {
			today = d
		}
	}
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
	d := dashboardData{Title: title, Scope: sub, Van: chart.Week(van), Tot: chart.Week(van.AddDate(0, 0, 7*(weeks-1))),
		TotalBerich: chart.Int(total),
		Volume:      chart.Bars("chart-volume", "berichten per week", short, volume, chart.Int, 0),
		Afkeur:      chart.Bars("chart-afkeur", "afkeur in procenten", short, share, chart.Percent, 100),
	}
	var normLabels []string
	var within []float64
	for _, n := range Norms {
		c := perNorm[n.Name]
		v := -1.0
		label := fmt.Sprintf("%s ≤ %d wd", n.Name, n.Werkdagen)
		if c != nil && c.Gemeten > 0 {
			v = 100 * float64(c.BinnenNorm) / float64(c.Gemeten)
			label += fmt.Sprintf(" (gem. %s, n = %s)", chart.Decimal(float64(c.Werkdagen)/float64(c.Gemeten), 1), chart.Int(c.Gemeten))
		} else {
			label += " (geen metingen)"
		}
		normLabels = append(normLabels, label)
		within = append(within, v)
	}
	d.Doorloop = chart.HBars("chart-doorlooptijd", "doorlooptijd binnen norm", normLabels, within)
	if h.cfg.Mailboxes != nil {
		if m, ok := h.cfg.Mailboxes(p); ok {
			d.Mailboxes = &tiles{Open: chart.Int(m.Open), Quarantined: chart.Int(m.Quarantined)}
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
	q.Totals = true
	d.PerCategorie = perCategorie(h.cfg.Aggregates.CategoryRows(q))
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	return page.Execute(w, d)
}

// table writes out the figures by name, in the order of the names.
func table(by map[string]*Counts) []tableRow {
	out := make([]tableRow, 0, len(by))
	for name, c := range by {
		r := tableRow{Name: name, Berichten: chart.Int(c.Berichten), Technisch: chart.Int(c.AfkeurTechnisch),
			Afkeur: chart.Int(c.Afkeur), Prestaties: chart.Int(c.AfkeurPrestaties), Starts: chart.Int(c.Starts),
			Stops: chart.Int(c.Stops), Gedeclareerd: chart.Euro(c.Gedeclareerd), Afgewezen: chart.Euro(c.Afgewezen + c.AfkeurTechnischBedrag),
			BinnenNorm: "–"}
		if c.Gemeten > 0 {
			r.BinnenNorm = chart.Percent(100 * float64(c.BinnenNorm) / float64(c.Gemeten))
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
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

// perCategorie sums the rows of the weeks shown per ProductCategorie, in
// the order of the codes, and writes them out.
func perCategorie(rows []CategoryRow) []categoryRow {
	sums := map[string]*CategoryCounts{}
	var codes []string
	for _, r := range rows {
		c := sums[r.Categorie]
		if c == nil {
			c = &CategoryCounts{}
			sums[r.Categorie] = c
			codes = append(codes, r.Categorie)
		}
		c.add(&r.CategoryCounts)
	}
	sort.Strings(codes)
	out := make([]categoryRow, 0, len(codes))
	for _, code := range codes {
		c := sums[code]
		out = append(out, categoryRow{Name: categorieText(code), Toegewezen: chart.Int(c.Toegewezen),
			Starts: chart.Int(c.Starts), Stops: chart.Int(c.Stops), Gedeclareerd: chart.Euro(c.Gedeclareerd)})
	}
	return out
}
