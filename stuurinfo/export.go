package stuurinfo

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
)

// WriteJSON writes rows as a JSON array.
func WriteJSON(w io.Writer, rows []Row) error {
	if rows == nil {
		rows = []Row{}
	}
	enc := json.NewEncoder(w)
	if err := enc.Encode(rows); err != nil {
		return fmt.Errorf("writing stuurinfo json: %w", err)
	}
	return nil
}

// CSVHeader is the first line of the CSV export.
var CSVHeader = []string{"periode", "van", "gemeente", "aanbieder", "berichtsoort", "berichten",
	"retourberichten", "afkeur", "afkeur_aandeel", "starts", "stops", "gedeclareerd_cent",
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
			i(r.Retourberichten), i(r.Afkeur), f(r.AfkeurAandeel), i(r.Starts), i(r.Stops), i(r.Gedeclareerd),
			norm, normDays, i(r.Gemeten), i(r.BinnenNorm), f(r.BinnenNormAandeel), i(r.Werkdagen)})
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
// suppressed (null). An amount or lead time is suppressed with the count it
// sums over.
type NZaRow struct {
	Periode         string `json:"periode"`
	Gemeente        string `json:"gemeente"`
	Berichtsoort    string `json:"berichtsoort"`
	Berichten       *int64 `json:"berichten"`
	Retourberichten *int64 `json:"retourberichten"`
	Afkeur          *int64 `json:"afkeur"`
	Starts          *int64 `json:"starts"`
	Stops           *int64 `json:"stops"`
	Gedeclareerd    *int64 `json:"gedeclareerd_cent"`
	Gemeten         *int64 `json:"doorlooptijd_gemeten"`
	BinnenNorm      *int64 `json:"doorlooptijd_binnen_norm"`
	Werkdagen       *int64 `json:"doorlooptijd_werkdagen_som"`
}

// suppress returns nil for 1..SuppressBelow-1, else n.
func suppress(n int64) *int64 {
	if n > 0 && n < SuppressBelow {
		return nil
	}
	return &n
}

// NZa returns the NZa export of the months starting in [q.Van, q.Tot):
// month rows summed over aanbieders, small counts suppressed.
func (a *Aggregates) NZa(q Query) []NZaRow {
	var van, tot int32 = -1 << 31, 1<<31 - 1
	if !q.Van.IsZero() {
		van = dayNumber(q.Van)
	}
	if !q.Tot.IsZero() {
		tot = dayNumber(q.Tot)
	}
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
	sort.Slice(lines, func(i, j int) bool {
		x, y := &lines[i], &lines[j]
		if x.p != y.p {
			return x.p < y.p
		}
		if x.c.gemeente != y.c.gemeente {
			return rank[x.c.gemeente] < rank[y.c.gemeente]
		}
		return rank[x.c.soort] < rank[y.c.soort]
	})
	out := make([]NZaRow, 0, len(lines))
	for _, l := range lines {
		c := l.n
		n := NZaRow{Periode: periodLabel(Month, l.p), Gemeente: a.names[l.c.gemeente], Berichtsoort: a.names[l.c.soort],
			Berichten: suppress(c.Berichten), Retourberichten: suppress(c.Retourberichten),
			Afkeur: suppress(c.Afkeur), Starts: suppress(c.Starts), Stops: suppress(c.Stops),
			Gemeten: suppress(c.Gemeten), BinnenNorm: suppress(c.BinnenNorm)}
		if n.Berichten != nil {
			n.Gedeclareerd = &c.Gedeclareerd
		}
		if n.Gemeten != nil {
			n.Werkdagen = &c.Werkdagen
		}
		out = append(out, n)
	}
	return out
}
