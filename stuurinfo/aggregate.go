package stuurinfo

import (
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/store"
)

// Observation is one newly stored message as the derived products see it.
type Observation struct {
	// Seq is the message's position in the store's change feed, so that
	// an observer that saved its position never counts a message twice;
	// zero when it has none.
	Seq       uint64
	ID        store.ID
	Soort     string
	Sender    string
	Recipient string // the mailbox it was stored in
	Received  time.Time
	// Answers is the heenbericht (or 323) a retour (or 325) answers, with
	// its berichtsoort and arrival; zero for a heenbericht.
	Answers         store.ID
	AnswersSoort    string
	AnswersReceived time.Time
	// Tree is the message as validation read it, when the node still
	// held it; the derived products read their facts from it instead of
	// parsing Body. Nil otherwise.
	Tree *bericht.Tree
	// Body is the message, for the derived products that read content
	// when there is no Tree. Nil when there is a Tree.
	Body []byte
}

// SwitchMailbox is the switch's own mailbox (gateway.SwitchMailbox, which
// this package does not import): a heenbericht stored there was withheld
// by the switch, which answered it itself, and never delivered.
const SwitchMailbox = "knooppunt"

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

// The norms, the bedrijfsregels of iWmo 3.2 and iJw 3.2 (reactietijd):
// OP090, a retourbericht within 3 werkdagen after the heenbericht's
// receipt; OP274 and OP346, a toewijzing (301) or antwoordbericht (319)
// within 5 werkdagen after a verzoek om toewijzing (315) or verzoek om
// wijziging (317); OP090x4, a declaratie-antwoord (325) within 10
// werkdagen after its declaratie (323).
var (
	NormRetour     = Norm{"retour", 3}
	NormVerzoek    = Norm{"verzoek", 5}
	NormDeclaratie = Norm{"declaratie", 10}
)

// Norms lists every norm, for documentation and the dashboard.
var Norms = []Norm{NormRetour, NormVerzoek, NormDeclaratie}

// Counts are the maintained sums of one row; docs/stuurinfo.md defines
// each.
type Counts struct {
	// Berichten counts the messages delivered: stored in the
	// recipient's mailbox, neither withheld by the switch nor made by it.
	Berichten int64 `json:"berichten"`
	// Retourberichten counts the delivered retourberichten (302 … 320).
	Retourberichten int64 `json:"retourberichten"`
	// AfkeurTechnisch counts the heenberichten the switch withheld and
	// answered itself with retourcode 0001 (control level 2), and
	// AfkeurTechnischBedrag sums the TotaalIngediendBedrag of those that
	// are 323s, in eurocents, credit negative: money rejected, not
	// declared.
	AfkeurTechnisch       int64 `json:"afkeur_technisch"`
	AfkeurTechnischBedrag int64 `json:"afkeur_technisch_cent"`
	// Afkeur counts the delivered answers (retourberichten and 325s)
	// that reject something: a retourcode other than 0200, 0233 and
	// 8001 anywhere in them.
	Afkeur int64 `json:"afkeur"`
	// AfkeurPrestaties counts the declaratie lines (Prestatie) 325s
	// reject, and Afgewezen sums what they reject: TotaalIngediendBedrag
	// minus TotaalToegekendBedrag of their DeclaratieAntwoord, in
	// eurocents.
	AfkeurPrestaties int64 `json:"afkeur_prestaties"`
	Afgewezen        int64 `json:"afgewezen_cent"`
	// Starts and Stops count the StartProduct lines of delivered 305s
	// and the StopProduct lines of delivered 307s that are a first
	// aanlevering (StatusAanlevering 1).
	Starts int64 `json:"starts"`
	Stops  int64 `json:"stops"`
	// Gedeclareerd sums TotaalIngediendBedrag of delivered 323s in
	// eurocents: debet minus credit.
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
	c.AfkeurTechnisch += o.AfkeurTechnisch
	c.AfkeurTechnischBedrag += o.AfkeurTechnischBedrag
	c.Afkeur += o.Afkeur
	c.AfkeurPrestaties += o.AfkeurPrestaties
	c.Afgewezen += o.Afgewezen
	c.Starts += o.Starts
	c.Stops += o.Stops
	c.Gedeclareerd += o.Gedeclareerd
	c.Gemeten += o.Gemeten
	c.BinnenNorm += o.BinnenNorm
	c.Werkdagen += o.Werkdagen
}

// CategoryCounts are the figures of product lines per ProductCategorie;
// docs/stuurinfo.md defines each. A message with lines of several
// categorieën counts in each, so they are sums of lines, not of messages.
type CategoryCounts struct {
	// Toegewezen counts the ToegewezenProduct lines of delivered 301s.
	Toegewezen int64 `json:"toegewezen"`
	// Starts and Stops count the StartProduct lines of delivered 305s and
	// the StopProduct lines of delivered 307s with StatusAanlevering 1.
	Starts int64 `json:"starts"`
	Stops  int64 `json:"stops"`
	// Gedeclareerd sums the IngediendBedrag of the Prestaties of
	// delivered 323s in eurocents, debet minus credit.
	Gedeclareerd int64 `json:"gedeclareerd_cent"`
}

func (c *CategoryCounts) add(o *CategoryCounts) {
	c.Toegewezen += o.Toegewezen
	c.Starts += o.Starts
	c.Stops += o.Stops
	c.Gedeclareerd += o.Gedeclareerd
}

// tally is a row as kept in memory: int32 counts (a row of one period
// never nears 2³¹ messages) and the amounts in int64, 64 bytes instead of
// the 104 of Counts — the rows of a national year number in the millions.
type tally struct {
	berichten, retours, technisch, afkeur, prestaties, starts, stops, gemeten, binnen, werkdagen int32
	technischBedrag, afgewezen, bedrag                                                           int64
}

func (t *tally) add(c *Counts) {
	t.berichten += int32(c.Berichten)
	t.retours += int32(c.Retourberichten)
	t.technisch += int32(c.AfkeurTechnisch)
	t.afkeur += int32(c.Afkeur)
	t.prestaties += int32(c.AfkeurPrestaties)
	t.starts += int32(c.Starts)
	t.stops += int32(c.Stops)
	t.gemeten += int32(c.Gemeten)
	t.binnen += int32(c.BinnenNorm)
	t.werkdagen += int32(c.Werkdagen)
	t.technischBedrag += c.AfkeurTechnischBedrag
	t.afgewezen += c.Afgewezen
	t.bedrag += c.Gedeclareerd
}

func (t *tally) counts() Counts {
	return Counts{Berichten: int64(t.berichten), Retourberichten: int64(t.retours),
		AfkeurTechnisch: int64(t.technisch), AfkeurTechnischBedrag: t.technischBedrag,
		Afkeur: int64(t.afkeur), AfkeurPrestaties: int64(t.prestaties), Afgewezen: t.afgewezen,
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
	// categories are the figures per ProductCategorie: period × gemeente
	// × aanbieder × categorie (in cell.soort, interned).
	categories [3]map[int32]map[cell]CategoryCounts
	norms      map[uint32]*Norm // the norm of each interned berichtsoort
	// open is what waits for its answer: a 315 or 317 for the 301 or 319
	// that answers it, and a heenbericht the switch withheld for the
	// switch's own answer, which is not counted (withheldKey).
	open     map[request]time.Time
	newest   int32  // the latest day with rows
	version  uint64 // counts Records
	position uint64 // Seq of the last observation recorded
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

// request is an open 315 or 317, by its berichtsoort, the parties and a
// ReferentieAanbieder, waiting since its date; or, with the soort of
// SwitchMailbox and ref the message id, a withheld heenbericht.
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
		a.categories[g] = map[int32]map[cell]CategoryCounts{}
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

// Position is the Seq of the last observation the aggregates hold (saved
// with them); 0 when none carried one.
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
// its berichtsoort and the parties of its observation, for a message whose
// header could not be read.
func parties(s bericht.Soort, sender, recipient string) (gemeente, aanbieder string) {
	if s.Sender == bericht.Gemeente {
		return sender, recipient
	}
	return recipient, sender
}

// gemeentecode reports whether s is a CBS gemeentecode: four digits.
func gemeentecode(s string) bool {
	if len(s) != 4 {
		return false
	}
	for i := range 4 {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// normOf is the lead-time norm measured on messages of soort s, if any.
func normOf(s bericht.Soort) (Norm, bool) {
	switch {
	case s.Retour:
		return NormRetour, true
	case s.Number == 301, s.Number == 319:
		return NormVerzoek, true
	case s.Number == 325:
		return NormDeclaratie, true
	}
	return Norm{}, false
}

// Record adds one stored message, as docs/stuurinfo.md defines the
// figures. Only the 28 berichtsoorten of iWmo and iJw 3.2 count (not the
// switch's own WLZ-SIGNAAL). A message is counted in the period of its own
// date (Dagtekening, or DagtekeningRetour for a retourbericht), or of the
// day the switch received it when that is earlier or the date unreadable,
// under the gemeente and aanbieder its header names. A message whose
// header cannot be read is attributed by the parties of its observation,
// and not counted when that gives no CBS gemeentecode (a
// samenwerkingsverband's mailbox).
func (a *Aggregates) Record(o *Observation) {
	s, known := bericht.Lookup(o.Soort)
	var f facts
	if known {
		var err error
		switch {
		case o.Tree != nil:
			f, err = treeFacts(o.Tree)
		case o.Body != nil:
			f, err = extract(o.Body)
		}
		if err != nil {
			f = facts{}
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
	if known {
		a.record(o, s, &f)
	}
}

// record counts message o of berichtsoort s with facts f; the caller holds
// a.mu.
func (a *Aggregates) record(o *Observation, s bericht.Soort, f *facts) {
	received := civil(o.Received.In(a.loc))
	day := dateOf(f.date(s), received)
	withheld := o.Recipient == SwitchMailbox && !s.Answers()
	if withheld {
		// Rejected on control level 2, answered by the switch, never
		// delivered: its answer, which follows, is not counted.
		a.open[a.withheldKey(o.ID)] = day
	} else if s.Answers() && o.Answers != (store.ID{}) {
		if wk := a.withheldKey(o.Answers); a.waits(wk) {
			delete(a.open, wk) // the switch's own answer: counted with its heenbericht
			return
		}
	}
	gemeente, aanbieder := f.parties(s)
	if gemeente == "" {
		gemeente, aanbieder = parties(s, o.Sender, o.Recipient)
	}
	if !gemeentecode(gemeente) {
		return
	}
	k := cell{gemeente: a.intern(gemeente), aanbieder: a.intern(aanbieder), soort: a.internSoort(s.Name)}
	if withheld {
		c := Counts{AfkeurTechnisch: 1}
		if s.Number == 323 {
			c.AfkeurTechnischBedrag = f.ingediend
		}
		a.count(day, k, &c)
		return
	}

	c := Counts{Berichten: 1}
	if s.Retour {
		c.Retourberichten = 1
	}
	if s.Answers() && f.afkeur {
		c.Afkeur = 1
	}
	switch s.Number {
	case 305:
		c.Starts = int64(f.starts)
	case 307:
		c.Stops = int64(f.stops)
	case 315, 317:
		for _, ref := range f.refs {
			r := request{soort: k.soort, gemeente: k.gemeente, aanbieder: k.aanbieder, ref: ref}
			if !a.waits(r) {
				a.open[r] = day
			}
		}
	case 323:
		c.Gedeclareerd = f.ingediend
	case 325:
		c.AfkeurPrestaties = int64(f.prestatiesAfgekeurd)
		if f.hasIngediend && f.hasToegekend {
			c.Afgewezen = f.ingediend - f.toegekend
		}
	}

	switch {
	case s.Retour:
		if from, ok := a.heenDay(f.dagtekening, o.AnswersReceived); ok {
			measure(&c, NormRetour, from, day)
		}
	case s.Number == 325:
		if from, ok := a.heenDay(f.declaratieDagtekening, o.AnswersReceived); ok {
			measure(&c, NormDeclaratie, from, day)
		}
	case s.Number == 301, s.Number == 319:
		for _, from := range a.answered(s, k, f.refs) {
			measure(&c, NormVerzoek, from, day)
		}
	}
	a.count(day, k, &c)
	switch s.Number {
	case 301, 305, 307, 323: // not their retours, which copy the lines
		for name, cc := range f.categories {
			a.countCategory(day, cell{gemeente: k.gemeente, aanbieder: k.aanbieder, soort: a.intern(name)}, cc)
		}
	}
}

// withheldKey files a withheld heenbericht in a.open; the caller holds
// a.mu.
func (a *Aggregates) withheldKey(id store.ID) request {
	return request{soort: a.intern(SwitchMailbox), ref: id.String()}
}

// waits reports whether r is open; the caller holds a.mu.
func (a *Aggregates) waits(r request) bool {
	_, ok := a.open[r]
	return ok
}

// dateOf is the day of a message: its own date, unless that is unreadable
// or after the day it was received.
func dateOf(date string, received time.Time) time.Time {
	d, err := time.Parse(time.DateOnly, date)
	if err != nil || d.After(received) {
		return received
	}
	return d
}

// heenDay is the day of the heenbericht an answer names (its Dagtekening
// as the answer's header carries it), not after the day the switch
// received it; without a readable date, the day it was received. false
// when neither is known.
func (a *Aggregates) heenDay(date string, received time.Time) (time.Time, bool) {
	var r time.Time
	if !received.IsZero() {
		r = civil(received.In(a.loc))
	}
	d, err := time.Parse(time.DateOnly, date)
	switch {
	case err != nil:
		return r, !r.IsZero()
	case !r.IsZero() && r.Before(d):
		return r, true
	}
	return d, true
}

// answered closes the open 315s and 317s a 301 or 319 names by
// ReferentieAanbieder (OP274, OP346: either answers either) and returns
// their days. The caller holds a.mu.
func (a *Aggregates) answered(s bericht.Soort, k cell, refs []string) []time.Time {
	var days []time.Time
	prefix := s.Name[:len(s.Name)-3] // WMO or JW
	for _, req := range []string{prefix + "315", prefix + "317"} {
		rs, ok := a.ids[req]
		if !ok {
			continue
		}
		for _, ref := range refs {
			r := request{soort: rs, gemeente: k.gemeente, aanbieder: k.aanbieder, ref: ref}
			if d, ok := a.open[r]; ok {
				days = append(days, d)
				delete(a.open, r)
			}
		}
	}
	return days
}

// measure adds one lead time from → to, in werkdagen, against norm.
func measure(c *Counts, norm Norm, from, to time.Time) {
	wd := Werkdagen(from, to)
	c.Gemeten++
	c.Werkdagen += int64(wd)
	if wd <= norm.Werkdagen {
		c.BinnenNorm++
	}
}

// count adds c to the rows of cell k on day; a day older than the day
// rows kept counts in its week and month only. The caller holds a.mu.
func (a *Aggregates) count(day time.Time, k cell, c *Counts) {
	for g := range a.periods {
		p := periodStart(Granularity(g), day)
		if Granularity(g) == Day {
			if p > a.newest && a.periods[Day][p] == nil {
				a.newest = p
				a.prune()
			}
			if p <= a.newest-DayRetention {
				continue
			}
		}
		a.addTo(Granularity(g), p, k, c)
	}
}

// countCategory adds c to the figures per ProductCategorie of cell k on
// day, with count's periods; the caller holds a.mu.
func (a *Aggregates) countCategory(day time.Time, k cell, c *CategoryCounts) {
	for g := range a.categories {
		p := periodStart(Granularity(g), day)
		if Granularity(g) == Day && p <= a.newest-DayRetention {
			continue
		}
		a.addCategory(Granularity(g), p, k, c)
	}
}

// addCategory adds c to the categorie row of cell k in period p; the caller
// holds a.mu.
func (a *Aggregates) addCategory(g Granularity, p int32, k cell, c *CategoryCounts) {
	rows := a.categories[g][p]
	if rows == nil {
		rows = map[cell]CategoryCounts{}
		a.categories[g][p] = rows
	}
	r := rows[k]
	r.add(c)
	rows[k] = r
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
// and what waits longer than RequestRetention. It runs once per new day;
// the caller holds a.mu.
func (a *Aggregates) prune() {
	for p := range a.periods[Day] {
		if p <= a.newest-DayRetention {
			delete(a.periods[Day], p)
			delete(a.byGemeente[Day], p)
			delete(a.totals[Day], p)
		}
	}
	for p := range a.categories[Day] {
		if p <= a.newest-DayRetention {
			delete(a.categories[Day], p)
		}
	}
	limit := fromDayNumber(a.newest - RequestRetention)
	for r, at := range a.open {
		if at.Before(limit) {
			delete(a.open, r)
		}
	}
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
	// AfkeurAandeel is Afkeur / Berichten: on the row of an answering
	// berichtsoort (a retour, a 325) the share of answers that reject.
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
	van, tot := q.span()
	a.mu.RLock()
	defer a.mu.RUnlock()
	allowed := a.allowed(q)
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
	sort.Slice(lines, func(i, j int) bool { return rowBefore(rank, lines[i].p, lines[i].c, lines[j].p, lines[j].c) })
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
		if l.n.Berichten > 0 {
			r.AfkeurAandeel = float64(l.n.Afkeur) / float64(l.n.Berichten)
		}
		r.Norm = a.norms[l.c.soort]
		if l.n.Gemeten > 0 {
			r.BinnenNormAandeel = float64(l.n.BinnenNorm) / float64(l.n.Gemeten)
		}
	}
	return out
}

// span is the range of period starts q selects, as day numbers: van ≤
// start < tot.
func (q Query) span() (van, tot int32) {
	van, tot = -1<<31, 1<<31-1
	if !q.Van.IsZero() {
		van = dayNumber(q.Van)
	}
	if !q.Tot.IsZero() {
		tot = dayNumber(q.Tot)
	}
	return van, tot
}

// allowed is the set of gemeenten q restricts the rows to, by interned id;
// nil for all. The caller holds a.mu.
func (a *Aggregates) allowed(q Query) map[uint32]bool {
	if q.Gemeenten == nil {
		return nil
	}
	allowed := map[uint32]bool{}
	for _, g := range q.Gemeenten {
		if id, ok := a.ids[g]; ok {
			allowed[id] = true
		}
	}
	return allowed
}

// rowBefore orders rows by period, then gemeente, aanbieder and the third
// dimension (berichtsoort or categorie) by name, through rank.
func rowBefore(rank []int, p1 int32, c1 cell, p2 int32, c2 cell) bool {
	switch {
	case p1 != p2:
		return p1 < p2
	case c1.gemeente != c2.gemeente:
		return rank[c1.gemeente] < rank[c2.gemeente]
	case c1.aanbieder != c2.aanbieder:
		return rank[c1.aanbieder] < rank[c2.aanbieder]
	}
	return rank[c1.soort] < rank[c2.soort]
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

// CategoryRow is one line of the figures per ProductCategorie.
type CategoryRow struct {
	Periode   string `json:"periode"`
	Van       string `json:"van"`
	Gemeente  string `json:"gemeente,omitempty"`
	Aanbieder string `json:"aanbieder,omitempty"`
	// Categorie is the ProductCategorie code; empty for lines without
	// Product (a budget).
	Categorie string `json:"productcategorie"`
	CategoryCounts
}

// CategoryRows answers q from the figures per ProductCategorie, sorted by
// period, gemeente, aanbieder and categorie; with q.Totals summed over
// gemeenten and aanbieders, one row per period × categorie.
func (a *Aggregates) CategoryRows(q Query) []CategoryRow {
	van, tot := q.span()
	a.mu.RLock()
	defer a.mu.RUnlock()
	allowed := a.allowed(q)
	type key struct {
		p int32
		c cell
	}
	sums := map[key]*CategoryCounts{}
	for p, rows := range a.categories[q.Granularity] {
		if p < van || p >= tot {
			continue
		}
		for c, n := range rows {
			if allowed != nil && !allowed[c.gemeente] {
				continue
			}
			k := key{p, c}
			if q.Totals {
				k.c = cell{soort: c.soort}
			}
			sum := sums[k]
			if sum == nil {
				sum = &CategoryCounts{}
				sums[k] = sum
			}
			sum.add(&n)
		}
	}
	keys := make([]key, 0, len(sums))
	for k := range sums {
		keys = append(keys, k)
	}
	rank := a.ranks()
	sort.Slice(keys, func(i, j int) bool { return rowBefore(rank, keys[i].p, keys[i].c, keys[j].p, keys[j].c) })
	out := make([]CategoryRow, len(keys))
	for i, k := range keys {
		r := &out[i]
		r.Periode, r.Van = periodLabel(q.Granularity, k.p), fromDayNumber(k.p).Format("2006-01-02")
		r.Categorie, r.CategoryCounts = a.names[k.c.soort], *sums[k]
		if !q.Totals {
			r.Gemeente, r.Aanbieder = a.names[k.c.gemeente], a.names[k.c.aanbieder]
		}
	}
	return out
}
