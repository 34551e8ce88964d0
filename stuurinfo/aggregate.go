package stuurinfo

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/store"
	"github.com/knooppunt/knooppunt/xsd"
)

// Observation is one newly stored message as the derived products see it.
type Observation struct {
	// Seq is the message's position in a shared Source (the JetStream
	// stream), so that an observer that saved its position never counts a
	// message twice; zero from the Tap, which has none.
	Seq       uint64
	ID        store.ID
	Soort     string
	Sender    string
	Recipient string
	Received  time.Time
	// Answers is the heenbericht (or 323) a retour (or 325) answers, with
	// its berichtsoort and arrival; zero for a heenbericht.
	Answers         store.ID
	AnswersSoort    string
	AnswersReceived time.Time
	// Tree is the message as validation read it, when the tap was given
	// it (PutTree); the derived products read their facts from it instead
	// of parsing Body. Nil otherwise.
	Tree *xsd.Tree
	// Body is the message, for the derived products that read content
	// when there is no Tree. Nil when there is a Tree.
	Body []byte
}

// Granularity is the length of a period of aggregation.
type Granularity uint8

// The granularities of the aggregates.
const (
	Day Granularity = iota
	Week
	Month
)

var granularityNames = [...]string{Day: "dag", Week: "week", Month: "maand"}

// String returns dag, week or maand.
func (g Granularity) String() string {
	if int(g) < len(granularityNames) {
		return granularityNames[g]
	}
	return fmt.Sprintf("granularity(%d)", uint8(g))
}

// ParseGranularity accepts dag, week or maand (and day, month).
func ParseGranularity(s string) (Granularity, error) {
	switch s {
	case "dag", "day", "":
		return Day, nil
	case "week":
		return Week, nil
	case "maand", "month":
		return Month, nil
	}
	return 0, fmt.Errorf("granularity %q: want dag, week or maand", s)
}

// Norm is a lead-time norm of the standard, in werkdagen.
type Norm struct {
	Name      string `json:"naam"`
	Werkdagen int    `json:"werkdagen"`
}

// The norms. The retour norm holds for every retourbericht; the others for
// the answer to a request.
var (
	NormRetour = Norm{"retour", 3}
	Norm315301 = Norm{"315-301", 5}
	Norm317319 = Norm{"317-319", 5}
	Norm323325 = Norm{"323-325", 10}
)

// Norms lists every norm, for documentation and the dashboard.
var Norms = []Norm{NormRetour, Norm315301, Norm317319, Norm323325}

// Counts are the maintained sums of one row.
type Counts struct {
	// Berichten counts the messages stored.
	Berichten int64 `json:"berichten"`
	// Retourberichten counts retourberichten; Afkeur those carrying a
	// retourcode that rejects (anything but 0200, 0233 and 8001).
	Retourberichten int64 `json:"retourberichten"`
	Afkeur          int64 `json:"afkeur"`
	// Starts and Stops count StartProduct (305) and StopProduct (307)
	// lines.
	Starts int64 `json:"starts"`
	Stops  int64 `json:"stops"`
	// Gedeclareerd sums TotaalIngediendBedrag of 323s in eurocents,
	// credit negative.
	Gedeclareerd int64 `json:"gedeclareerd_cent"`
	// Gemeten counts answers whose lead time was measured against the
	// norm of the row's berichtsoort; BinnenNorm those within it;
	// Werkdagen sums the lead times.
	Gemeten    int64 `json:"doorlooptijd_gemeten"`
	BinnenNorm int64 `json:"doorlooptijd_binnen_norm"`
	Werkdagen  int64 `json:"doorlooptijd_werkdagen_som"`
}

func (c *Counts) add(o *Counts) {
	c.Berichten += o.Berichten
	c.Retourberichten += o.Retourberichten
	c.Afkeur += o.Afkeur
	c.Starts += o.Starts
	c.Stops += o.Stops
	c.Gedeclareerd += o.Gedeclareerd
	c.Gemeten += o.Gemeten
	c.BinnenNorm += o.BinnenNorm
	c.Werkdagen += o.Werkdagen
}

// tally is a row as kept in memory: int32 counts (a row of one period
// never nears 2³¹ messages) and the amount in int64, 40 bytes instead of
// the 72 of Counts — the rows of a national year number in the millions.
type tally struct {
	berichten, retours, afkeur, starts, stops, gemeten, binnen, werkdagen int32
	bedrag                                                                int64
}

func (t *tally) add(c *Counts) {
	t.berichten += int32(c.Berichten)
	t.retours += int32(c.Retourberichten)
	t.afkeur += int32(c.Afkeur)
	t.starts += int32(c.Starts)
	t.stops += int32(c.Stops)
	t.gemeten += int32(c.Gemeten)
	t.binnen += int32(c.BinnenNorm)
	t.werkdagen += int32(c.Werkdagen)
	t.bedrag += c.Gedeclareerd
}

func (t *tally) counts() Counts {
	return Counts{Berichten: int64(t.berichten), Retourberichten: int64(t.retours), Afkeur: int64(t.afkeur),
		Starts: int64(t.starts), Stops: int64(t.stops), Gedeclareerd: t.bedrag,
		Gemeten: int64(t.gemeten), BinnenNorm: int64(t.binnen), Werkdagen: int64(t.werkdagen)}
}

// cell is one row's dimensions, interned.
type cell struct {
	gemeente, aanbieder uint32
	soort               uint32
}

// Aggregates are the maintained rows of stuurinformatie. They are safe for
// concurrent use.
type Aggregates struct {
	loc *time.Location

	mu      sync.RWMutex
	names   []string // interned party and soort names
	ids     map[string]uint32
	periods [3]map[int32]map[cell]tally // granularity → period start day → rows
	// Rollups maintained beside the rows, so the dashboard's totals and
	// the NZa export read a few thousand rows instead of summing millions:
	// per gemeente × berichtsoort (aanbieder 0), and per berichtsoort
	// (gemeente and aanbieder 0).
	byGemeente [3]map[int32]map[cell]tally
	totals     [3]map[int32]map[cell]tally
	norms      map[uint32]*Norm      // the norm of each interned berichtsoort
	open       map[request]time.Time // 315/317 waiting for their 301/319
	newest     int32                 // the latest day with rows
	version    uint64                // counts Records
	position   uint64                // Seq of the last observation from a Source
}

// DayRetention is how many days of day rows the aggregates keep; week and
// month rows are kept for good. A day row per gemeente × aanbieder ×
// berichtsoort is nearly one per message at national volumes, so keeping
// them for a whole year would cost gigabytes; weeks and months are where a
// year is read.
const DayRetention = 92

// RequestRetention is how long an unanswered 315 or 317 waits for its 301
// or 319 before it is forgotten (and its lead time never measured).
const RequestRetention = 366

// request is an open 315 or 317, by the parties and ReferentieAanbieder.
type request struct {
	soort               uint32
	gemeente, aanbieder uint32
	ref                 string
}

// NewAggregates returns empty aggregates whose days are those of loc
// (default Europe/Amsterdam).
func NewAggregates(loc *time.Location) *Aggregates {
	if loc == nil {
		loc = amsterdam()
	}
	a := &Aggregates{loc: loc, ids: map[string]uint32{}, norms: map[uint32]*Norm{}, open: map[request]time.Time{}}
	for g := range a.periods {
		a.periods[g] = map[int32]map[cell]tally{}
		a.byGemeente[g] = map[int32]map[cell]tally{}
		a.totals[g] = map[int32]map[cell]tally{}
	}
	return a
}

func amsterdam() *time.Location {
	loc, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		return time.UTC
	}
	return loc
}

// intern returns the id of a name; the caller holds a.mu.
func (a *Aggregates) intern(s string) uint32 {
	if id, ok := a.ids[s]; ok {
		return id
	}
	id := uint32(len(a.names))
	a.names = append(a.names, s)
	a.ids[s] = id
	return id
}

// internSoort interns a berichtsoort and remembers its norm; the caller
// holds a.mu.
func (a *Aggregates) internSoort(name string) uint32 {
	if id, ok := a.ids[name]; ok {
		if _, seen := a.norms[id]; seen {
			return id
		}
	}
	id := a.intern(name)
	var norm *Norm
	if s, ok := bericht.Lookup(name); ok {
		if n, ok := normOf(s); ok {
			norm = &n
		}
	}
	a.norms[id] = norm
	return id
}

// Position is the Seq of the last observation from a Source that the
// aggregates hold (saved with them); 0 when they were fed by a Tap only.
func (a *Aggregates) Position() uint64 {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.position
}

// Version counts the messages recorded since the aggregates were made or
// loaded; when it has not moved there is nothing new to save.
func (a *Aggregates) Version() uint64 {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.version
}

// parties returns the gemeente and aanbieder of a message from the roles of
// its berichtsoort.
func parties(s bericht.Soort, sender, recipient string) (gemeente, aanbieder string) {
	if s.Sender == bericht.Gemeente {
		return sender, recipient
	}
	return recipient, sender
}

// normOf is the lead-time norm measured on messages of soort s, if any.
func normOf(s bericht.Soort) (Norm, bool) {
	switch {
	case s.Retour:
		return NormRetour, true
	case s.Number == 301:
		return Norm315301, true
	case s.Number == 319:
		return Norm317319, true
	case s.Number == 325:
		return Norm323325, true
	}
	return Norm{}, false
}

// Record adds one stored message. Messages of unknown berichtsoorten (e.g.
// the switch's own WLZ-SIGNAAL) are counted under their name without
// content facts. A body that does not parse is counted without its facts.
func (a *Aggregates) Record(o *Observation) {
	s, known := bericht.Lookup(o.Soort)
	var gemeente, aanbieder string
	if known {
		gemeente, aanbieder = parties(s, o.Sender, o.Recipient)
	} else {
		gemeente, aanbieder = o.Recipient, o.Sender
	}
	var f facts
	switch {
	case !known:
	case o.Tree != nil:
		f, _ = treeFacts(o.Tree)
	case o.Body != nil:
		f, _ = extract(o.Body)
	}
	c := Counts{Berichten: 1, Starts: int64(f.starts), Stops: int64(f.stops), Gedeclareerd: f.bedrag}
	if known && s.Retour {
		c.Retourberichten = 1
		if f.afkeur {
			c.Afkeur = 1
		}
	}

	a.mu.Lock()
	defer a.mu.Unlock()
	if o.Seq != 0 {
		if o.Seq <= a.position {
			return // counted before the position was saved
		}
		a.position = o.Seq
	}
	a.version++
	k := cell{gemeente: a.intern(gemeente), aanbieder: a.intern(aanbieder), soort: a.internSoort(o.Soort)}
	at := o.Received.In(a.loc)
	var since time.Time
	if known {
		since = a.requestTime(s, k, f.refs, at)
	}
	if since.IsZero() && !o.AnswersReceived.IsZero() {
		since = o.AnswersReceived.In(a.loc)
	}
	if norm, ok := normOf(s); known && ok && !since.IsZero() {
		wd := Werkdagen(since, at)
		c.Gemeten, c.Werkdagen = 1, int64(wd)
		if wd <= norm.Werkdagen {
			c.BinnenNorm = 1
		}
	}
	for g := range a.periods {
		p := periodStart(Granularity(g), at)
		if Granularity(g) == Day && p > a.newest && a.periods[Day][p] == nil {
			a.newest = p
			a.prune()
		}
		a.addTo(Granularity(g), p, k, &c)
	}
}

// addTo adds c to the row of cell k in period p and to its rollups; the
// caller holds a.mu.
func (a *Aggregates) addTo(g Granularity, p int32, k cell, c *Counts) {
	add(a.periods[g], p, k, c)
	add(a.byGemeente[g], p, cell{gemeente: k.gemeente, soort: k.soort}, c)
	add(a.totals[g], p, cell{soort: k.soort}, c)
}

func add(m map[int32]map[cell]tally, p int32, k cell, c *Counts) {
	rows := m[p]
	if rows == nil {
		rows = map[cell]tally{}
		m[p] = rows
	}
	r := rows[k]
	r.add(c)
	rows[k] = r
}

// prune drops day rows older than DayRetention days before the newest day
// and requests older than RequestRetention. It runs once per new day; the
// caller holds a.mu.
func (a *Aggregates) prune() {
	for p := range a.periods[Day] {
		if p <= a.newest-DayRetention {
			delete(a.periods[Day], p)
			delete(a.byGemeente[Day], p)
			delete(a.totals[Day], p)
		}
	}
	limit := fromDayNumber(a.newest - RequestRetention)
	for r, at := range a.open {
		if at.Before(limit) {
			delete(a.open, r)
		}
	}
}

// requestTime files a 315 or 317 as open, or for a 301 or 319 returns when
// its request arrived (and closes it). The caller holds a.mu.
func (a *Aggregates) requestTime(s bericht.Soort, k cell, refs []string, at time.Time) time.Time {
	var reqSoort string
	switch s.Number {
	case 315, 317:
		for _, ref := range refs {
			a.open[request{soort: k.soort, gemeente: k.gemeente, aanbieder: k.aanbieder, ref: ref}] = at
		}
		return time.Time{}
	case 301:
		reqSoort = strings.Replace(s.Name, "301", "315", 1)
	case 319:
		reqSoort = strings.Replace(s.Name, "319", "317", 1)
	default:
		return time.Time{}
	}
	rs, ok := a.ids[reqSoort]
	if !ok {
		return time.Time{}
	}
	var first time.Time
	for _, ref := range refs {
		rk := request{soort: rs, gemeente: k.gemeente, aanbieder: k.aanbieder, ref: ref}
		if t, ok := a.open[rk]; ok {
			if first.IsZero() || t.Before(first) {
				first = t
			}
			delete(a.open, rk)
		}
	}
	return first
}

// epoch is the day numbering of the rows: days since 1970-01-01.
func dayNumber(t time.Time) int32 {
	y, m, d := t.Date()
	return int32(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

func fromDayNumber(n int32) time.Time { return time.Unix(int64(n)*86400, 0).UTC() }

// periodStart is the first day of t's period: the day, the ISO week's
// Monday, or the month's first.
func periodStart(g Granularity, t time.Time) int32 {
	d := dayNumber(t)
	switch g {
	case Week:
		wd := (int(fromDayNumber(d).Weekday()) + 6) % 7 // Monday 0
		return d - int32(wd)
	case Month:
		y, m, _ := t.Date()
		return dayNumber(time.Date(y, m, 1, 0, 0, 0, 0, time.UTC))
	}
	return d
}

// periodLabel names a period: 2026-03-02, 2026-W10 or 2026-03.
func periodLabel(g Granularity, start int32) string {
	t := fromDayNumber(start)
	switch g {
	case Week:
		y, w := t.ISOWeek()
		return fmt.Sprintf("%04d-W%02d", y, w)
	case Month:
		return t.Format("2006-01")
	}
	return t.Format("2006-01-02")
}

// Query selects rows. The zero value selects every day row.
type Query struct {
	Granularity Granularity
	// Van and Tot bound the periods by their first day: Van ≤ start < Tot.
	// Zero means unbounded.
	Van, Tot time.Time
	// Gemeenten restricts the rows to these gemeenten (a gemeente's
	// credential sees only its own); nil means all.
	Gemeenten []string
	// Totals sums the rows of each period over gemeenten and aanbieders
	// (one row per period × berichtsoort), as the dashboard shows them.
	Totals bool
}

// Row is one line of stuurinformatie.
type Row struct {
	Periode      string `json:"periode"`
	Van          string `json:"van"`
	Gemeente     string `json:"gemeente,omitempty"`
	Aanbieder    string `json:"aanbieder,omitempty"`
	Berichtsoort string `json:"berichtsoort"`
	Counts
	// AfkeurAandeel is Afkeur / Retourberichten (0 without retours).
	AfkeurAandeel float64 `json:"afkeur_aandeel"`
	// Norm is the lead-time norm of the berichtsoort, if any, and
	// BinnenNormAandeel the share of measured answers within it.
	Norm              *Norm   `json:"norm,omitempty"`
	BinnenNormAandeel float64 `json:"binnen_norm_aandeel"`
}

// Rows answers q from the maintained rows, sorted by period, gemeente,
// aanbieder and berichtsoort. It only visits the periods asked for, and
// sorts on interned ids ranked by name, so a year of month rows is read in
// well under a second.
func (a *Aggregates) Rows(q Query) []Row {
	var van, tot int32 = -1 << 31, 1<<31 - 1
	if !q.Van.IsZero() {
		van = dayNumber(q.Van)
	}
	if !q.Tot.IsZero() {
		tot = dayNumber(q.Tot)
	}
	a.mu.RLock()
	defer a.mu.RUnlock()
	var allowed map[uint32]bool
	if q.Gemeenten != nil {
		allowed = map[uint32]bool{}
		for _, g := range q.Gemeenten {
			if id, ok := a.ids[g]; ok {
				allowed[id] = true
			}
		}
	}
	type line struct {
		p int32
		c cell
		n Counts
	}
	var lines []line
	var totals map[line]int // (period, soort) → index in lines
	if q.Totals {
		totals = map[line]int{}
	}
	source := a.periods[q.Granularity]
	if q.Totals {
		source = a.totals[q.Granularity]
		if allowed != nil {
			source = a.byGemeente[q.Granularity]
		}
	}
	for p, rows := range source {
		if p < van || p >= tot {
			continue
		}
		for c, n := range rows {
			if allowed != nil && !allowed[c.gemeente] {
				continue
			}
			if !q.Totals {
				lines = append(lines, line{p: p, c: c, n: n.counts()})
				continue
			}
			k := line{p: p, c: cell{soort: c.soort}}
			i, ok := totals[k]
			if !ok {
				i = len(lines)
				totals[k] = i
				lines = append(lines, k)
			}
			nc := n.counts()
			lines[i].n.add(&nc)
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
		if x.c.aanbieder != y.c.aanbieder {
			return rank[x.c.aanbieder] < rank[y.c.aanbieder]
		}
		return rank[x.c.soort] < rank[y.c.soort]
	})
	out := make([]Row, len(lines))
	labels := map[int32][2]string{}
	for i := range lines {
		l := &lines[i]
		lb, ok := labels[l.p]
		if !ok {
			lb = [2]string{periodLabel(q.Granularity, l.p), fromDayNumber(l.p).Format("2006-01-02")}
			labels[l.p] = lb
		}
		r := &out[i]
		r.Periode, r.Van, r.Berichtsoort, r.Counts = lb[0], lb[1], a.names[l.c.soort], l.n
		if !q.Totals {
			r.Gemeente, r.Aanbieder = a.names[l.c.gemeente], a.names[l.c.aanbieder]
		}
		if l.n.Retourberichten > 0 {
			r.AfkeurAandeel = float64(l.n.Afkeur) / float64(l.n.Retourberichten)
		}
		r.Norm = a.norms[l.c.soort]
		if l.n.Gemeten > 0 {
			r.BinnenNormAandeel = float64(l.n.BinnenNorm) / float64(l.n.Gemeten)
		}
	}
	return out
}

// ranks gives every interned name its place in sorted order; the caller
// holds a.mu.
func (a *Aggregates) ranks() []int {
	order := make([]int, len(a.names))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(i, j int) bool { return a.names[order[i]] < a.names[order[j]] })
	rank := make([]int, len(a.names))
	for r, id := range order {
		rank[id] = r
	}
	return rank
}
