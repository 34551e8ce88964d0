package stuurinfo

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
)

// The formats of the exports.
const (
	FormatJSON = "json"
	FormatCSV  = "csv"
)

// CheckFormat accepts the formats of the exports, json and csv.
func CheckFormat(format string) error {
	switch format {
	case FormatJSON, FormatCSV:
		return nil
	}
	return fmt.Errorf("format %q: want json or csv", format)
}

// WriteJSON writes rows as a JSON array.
func WriteJSON(w io.Writer, rows []Row) error {
	if rows == nil {
		rows = []Row{}
	}
	if err := json.NewEncoder(w).Encode(rows); err != nil {
		return fmt.Errorf("writing stuurinfo json: %w", err)
	}
	return nil
}

// CSVHeader is the first line of the CSV export of rows.
var CSVHeader = []string{"periode", "van", "gemeente", "aanbieder", "berichtsoort", "berichten",
	"retourberichten", "afkeur_technisch", "afkeur_technisch_cent", "afkeur", "afkeur_aandeel",
	"afkeur_prestaties", "afgewezen_cent", "starts", "stops", "gedeclareerd_cent",
	"norm", "norm_werkdagen", "doorlooptijd_gemeten", "doorlooptijd_binnen_norm", "binnen_norm_aandeel",
	"doorlooptijd_werkdagen_som"}

// WriteCSV writes rows as CSV with CSVHeader.
func WriteCSV(w io.Writer, rows []Row) error {
	cw := csv.NewWriter(w)
	_ = cw.Write(CSVHeader)
	i := func(n int64) string { return strconv.FormatInt(n, 10) }
	f := func(x float64) string { return strconv.FormatFloat(x, 'f', 4, 64) }
	for _, r := range rows {
		norm, normDays := "", ""
		if r.Norm != nil {
			norm, normDays = r.Norm.Name, strconv.Itoa(r.Norm.Werkdagen)
		}
		_ = cw.Write([]string{r.Periode, r.Van, r.Gemeente, r.Aanbieder, r.Berichtsoort, i(r.Berichten),
			i(r.Retourberichten), i(r.AfkeurTechnisch), i(r.AfkeurTechnischBedrag), i(r.Afkeur), f(r.AfkeurAandeel),
			i(r.AfkeurPrestaties), i(r.Afgewezen), i(r.Starts), i(r.Stops), i(r.Gedeclareerd),
			norm, normDays, i(r.Gemeten), i(r.BinnenNorm), f(r.BinnenNormAandeel), i(r.Werkdagen)})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("writing stuurinfo csv: %w", err)
	}
	return nil
}

// WriteCategoryJSON writes the rows per ProductCategorie as a JSON array.
func WriteCategoryJSON(w io.Writer, rows []CategoryRow) error {
	if rows == nil {
		rows = []CategoryRow{}
	}
	if err := json.NewEncoder(w).Encode(rows); err != nil {
		return fmt.Errorf("writing stuurinfo json: %w", err)
	}
	return nil
}

// CategoryCSVHeader is the first line of the CSV export per
// ProductCategorie.
var CategoryCSVHeader = []string{"periode", "van", "gemeente", "aanbieder", "productcategorie",
	"toegewezen", "starts", "stops", "gedeclareerd_cent"}

// WriteCategoryCSV writes the rows per ProductCategorie as CSV with
// CategoryCSVHeader.
func WriteCategoryCSV(w io.Writer, rows []CategoryRow) error {
	cw := csv.NewWriter(w)
	_ = cw.Write(CategoryCSVHeader)
	i := func(n int64) string { return strconv.FormatInt(n, 10) }
	for _, r := range rows {
		_ = cw.Write([]string{r.Periode, r.Van, r.Gemeente, r.Aanbieder, r.Categorie,
			i(r.Toegewezen), i(r.Starts), i(r.Stops), i(r.Gedeclareerd)})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("writing stuurinfo csv: %w", err)
	}
	return nil
}

// SuppressBelow is the smallest count the NZa export publishes: 1 to 4 are
// suppressed.
const SuppressBelow = 5

// NZaRow is one line of the export for the NZa: per month × gemeente ×
// berichtsoort, without aanbieder codes (an AGB code can identify a
// self-employed person) and with every count from 1 to SuppressBelow-1
// suppressed (null). An amount or lead-time sum is suppressed with the
// count it sums over.
type NZaRow struct {
	Periode               string `json:"periode"`
	Gemeente              string `json:"gemeente"`
	Berichtsoort          string `json:"berichtsoort"`
	Berichten             *int64 `json:"berichten"`
	Retourberichten       *int64 `json:"retourberichten"`
	AfkeurTechnisch       *int64 `json:"afkeur_technisch"`
	AfkeurTechnischBedrag *int64 `json:"afkeur_technisch_cent"`
	Afkeur                *int64 `json:"afkeur"`
	AfkeurPrestaties      *int64 `json:"afkeur_prestaties"`
	Afgewezen             *int64 `json:"afgewezen_cent"`
	Starts                *int64 `json:"starts"`
	Stops                 *int64 `json:"stops"`
	Gedeclareerd          *int64 `json:"gedeclareerd_cent"`
	Gemeten               *int64 `json:"doorlooptijd_gemeten"`
	BinnenNorm            *int64 `json:"doorlooptijd_binnen_norm"`
	Werkdagen             *int64 `json:"doorlooptijd_werkdagen_som"`
}

// suppress returns nil for 1..SuppressBelow-1, else n.
func suppress(n int64) *int64 {
	if n > 0 && n < SuppressBelow {
		return nil
	}
	return &n
}

// with returns amount when its count is published, else nil.
func with(count *int64, amount int64) *int64 {
	if count == nil {
		return nil
	}
	return &amount
}

// NZa returns the NZa export of the months starting in [q.Van, q.Tot):
// month rows summed over aanbieders, small counts suppressed.
func (a *Aggregates) NZa(q Query) []NZaRow {
	van, tot := q.span()
	a.mu.RLock()
	defer a.mu.RUnlock()
	type line struct {
		p int32
		c cell
		n Counts
	}
	var lines []line
	for p, rows := range a.byGemeente[Month] {
		if p < van || p >= tot {
			continue
		}
		for c, n := range rows {
			lines = append(lines, line{p, c, n.counts()})
		}
	}
	rank := a.ranks()
	sort.Slice(lines, func(i, j int) bool { return rowBefore(rank, lines[i].p, lines[i].c, lines[j].p, lines[j].c) }) // aanbieder 0 in every row
	out := make([]NZaRow, 0, len(lines))
	for _, l := range lines {
		c := l.n
		n := NZaRow{Periode: periodLabel(Month, l.p), Gemeente: a.names[l.c.gemeente], Berichtsoort: a.names[l.c.soort],
			Berichten: suppress(c.Berichten), Retourberichten: suppress(c.Retourberichten),
			AfkeurTechnisch: suppress(c.AfkeurTechnisch), Afkeur: suppress(c.Afkeur),
			AfkeurPrestaties: suppress(c.AfkeurPrestaties), Starts: suppress(c.Starts), Stops: suppress(c.Stops),
			Gemeten: suppress(c.Gemeten), BinnenNorm: suppress(c.BinnenNorm)}
		n.Gedeclareerd = with(n.Berichten, c.Gedeclareerd)
		n.AfkeurTechnischBedrag = with(n.AfkeurTechnisch, c.AfkeurTechnischBedrag)
		n.Afgewezen = with(n.Afkeur, c.Afgewezen)
		n.Werkdagen = with(n.Gemeten, c.Werkdagen)
		out = append(out, n)
	}
	return out
}

// WriteNZaJSON writes the NZa export as a JSON array.
func WriteNZaJSON(w io.Writer, rows []NZaRow) error {
	if rows == nil {
		rows = []NZaRow{}
	}
	if err := json.NewEncoder(w).Encode(rows); err != nil {
		return fmt.Errorf("writing nza json: %w", err)
	}
	return nil
}

// NZaCSVHeader is the first line of the CSV form of the NZa export; its
// columns are the JSON fields, in order.
var NZaCSVHeader = []string{"periode", "gemeente", "berichtsoort", "berichten", "retourberichten",
	"afkeur_technisch", "afkeur_technisch_cent", "afkeur", "afkeur_prestaties", "afgewezen_cent",
	"starts", "stops", "gedeclareerd_cent", "doorlooptijd_gemeten", "doorlooptijd_binnen_norm",
	"doorlooptijd_werkdagen_som"}

// WriteNZaCSV writes the NZa export as CSV with NZaCSVHeader; a suppressed
// value is an empty field.
func WriteNZaCSV(w io.Writer, rows []NZaRow) error {
	cw := csv.NewWriter(w)
	_ = cw.Write(NZaCSVHeader)
	v := func(n *int64) string {
		if n == nil {
			return ""
		}
		return strconv.FormatInt(*n, 10)
	}
	for _, r := range rows {
		_ = cw.Write([]string{r.Periode, r.Gemeente, r.Berichtsoort, v(r.Berichten), v(r.Retourberichten),
			v(r.AfkeurTechnisch), v(r.AfkeurTechnischBedrag), v(r.Afkeur), v(r.AfkeurPrestaties), v(r.Afgewezen),
			v(r.Starts), v(r.Stops), v(r.Gedeclareerd), v(r.Gemeten), v(r.BinnenNorm), v(r.Werkdagen)})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("writing nza csv: %w", err)
	}
	return nil
}
