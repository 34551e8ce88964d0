package node

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/chart"
	"github.com/knooppunt/knooppunt/gateway"
	"github.com/knooppunt/knooppunt/internal/browser"
	"github.com/knooppunt/knooppunt/sample"
	"github.com/knooppunt/knooppunt/store/pebble"
	"github.com/knooppunt/knooppunt/stuurinfo"
)

// TestStuurinformatieOracle posts a mix of traffic whose every figure is
// known — all 28 berichtsoorten of both standards; rejections on control
// level 1 (refused), level 2 (withheld and answered by the switch) and by
// the recipients; gemeente 0606 through its samenwerkingsverband; credits;
// answers inside and outside each norm, across month ends and holidays;
// resends — through a running switch, and compares every cell of
// /v1/stuurinfo (months, weeks and days; the operator's view and a
// samenwerkingsverband's) and the NZa export (JSON and CSV) with the truth
// the test kept, also after a restart. The truth is written down from what
// the test sent and decided, not read back with the code under test:
// amounts come from the messages by a pattern of the test's own, lead
// times in werkdagen are counted by hand for the dates chosen.
func TestStuurinformatieOracle(t *testing.T) {
	require.Equal(t, gateway.SwitchMailbox, stuurinfo.SwitchMailbox, "stuurinfo knows the switch's mailbox")
	dir := t.TempDir()
	cfg := Config{Dev: true, Addr: "127.0.0.1:0", AnswerRules: true,
		Store:    pebble.Config{Dir: filepath.Join(dir, "data")},
		Insight:  InsightConfig{Enabled: true},
		Security: SecurityConfig{Limits: gateway.Limits{Rate: -1, Concurrent: -1}},
		Logger:   zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.ErrorLevel)}
	n, err := Start(context.Background(), cfg)
	require.NoError(t, err)
	defer func() { n.Close() }()

	o := &oracle{t: t, url: n.URL()}
	o.traffic()
	o.settle()
	o.compare()
	o.browse()

	require.NoError(t, n.Shutdown(context.Background()))
	n, err = Start(context.Background(), cfg)
	require.NoError(t, err)
	o.url = n.URL()
	o.settle()
	o.compare()
}

// The dates of the traffic, all in the past. Werkdagen between them are
// counted by hand: Friday 1 May, Tuesday 5 May Bevrijdingsdag, Thursday 14
// May Hemelvaartsdag, Monday 25 May Tweede Pinksterdag; Good Friday 3 April
// is a working day, Monday 6 April Tweede Paasdag is not.
const (
	dHeen       = "2026-04-30" // Thursday: heenberichten in April
	dRetourIn   = "2026-05-06" // 3 werkdagen later: within the retour norm
	dRetourLate = "2026-05-07" // 4: not
	dDecl       = "2026-03-30" // Monday: declaraties in March
	dDeclIn     = "2026-04-14" // 10 werkdagen later: within the declaratie norm
	dDeclLate   = "2026-04-15" // 11: not
	dVerzoek    = "2026-05-13" // Wednesday: 315s and 317s
	dVerzoekR   = "2026-05-15" // their retours, 1 werkdag later
	dAntwIn     = "2026-05-21" // 5 werkdagen after dVerzoek: within the verzoek norm
	dAntwLate   = "2026-05-22" // 6: not
	dAntwR      = "2026-05-26" // retours of 319s dated dAntwLate, 1 werkdag later
)

// figures are one message's contribution to its row, as the test expects.
type figures struct {
	berichten, retourberichten, technisch, technischCent, afkeur, prestaties, afgewezen,
	starts, stops, gedeclareerd, gemeten, binnen, werkdagen int64
}

func (f *figures) add(g figures) {
	f.berichten += g.berichten
	f.retourberichten += g.retourberichten
	f.technisch += g.technisch
	f.technischCent += g.technischCent
	f.afkeur += g.afkeur
	f.prestaties += g.prestaties
	f.afgewezen += g.afgewezen
	f.starts += g.starts
	f.stops += g.stops
	f.gedeclareerd += g.gedeclareerd
	f.gemeten += g.gemeten
	f.binnen += g.binnen
	f.werkdagen += g.werkdagen
}

// event is what one posted message should add to which row.
type event struct {
	day                        time.Time
	gemeente, aanbieder, soort string
	f                          figures
}

// lineEvent is what one delivered message adds per ProductCategorie.
type lineEvent struct {
	day                             time.Time
	gemeente, aanbieder, categorie  string
	toegewezen, starts, stops, cent int64
}

type oracle struct {
	t      *testing.T
	url    string
	mu     sync.Mutex
	events []event
	lines  []lineEvent
}

var (
	lineRe      = regexp.MustCompile(`(?s)<(?:\w+:)?(ToegewezenProduct|StartProduct|StopProduct|Prestatie)>(.*?)</(?:\w+:)?(?:ToegewezenProduct|StartProduct|StopProduct|Prestatie)>`)
	categorieRe = regexp.MustCompile(`<(?:\w+:)?(?:Product>\s*<(?:\w+:)?Categorie|ProductCategorie)>([0-9]+)<`)
	statusRe    = regexp.MustCompile(`StatusAanlevering>([0-9])<`)
	bedragRe    = regexp.MustCompile(`IngediendBedrag>\s*<(?:\w+:)?Bedrag>([0-9]+)</(?:\w+:)?Bedrag>\s*<(?:\w+:)?DebetCredit>([CD])<`)
)

// expectLines files the product lines of a delivered 301, 305, 307 or 323
// per ProductCategorie, read from m by the test's own patterns: a
// ToegewezenProduct, a StartProduct or StopProduct with StatusAanlevering
// 1, a Prestatie's IngediendBedrag.
func (o *oracle) expectLines(date, gemeente, aanbieder string, m *sample.Message) {
	d, err := time.Parse(time.DateOnly, date)
	require.NoError(o.t, err)
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, l := range lineRe.FindAllSubmatch(m.XML, -1) {
		e := lineEvent{day: d, gemeente: gemeente, aanbieder: aanbieder}
		if c := categorieRe.FindSubmatch(l[2]); c != nil {
			e.categorie = string(c[1])
		}
		status := ""
		if st := statusRe.FindSubmatch(l[2]); st != nil {
			status = string(st[1])
		}
		switch string(l[1]) {
		case "ToegewezenProduct":
			e.toegewezen = 1
		case "StartProduct":
			if status != "1" {
				continue
			}
			e.starts = 1
		case "StopProduct":
			if status != "1" {
				continue
			}
			e.stops = 1
		case "Prestatie":
			b := bedragRe.FindSubmatch(l[2])
			require.NotNil(o.t, b, "a Prestatie's IngediendBedrag")
			n, err := strconv.ParseInt(string(b[1]), 10, 64)
			require.NoError(o.t, err)
			if string(b[2]) == "C" {
				n = -n
			}
			e.cent = n
		}
		o.lines = append(o.lines, e)
	}
}

func (o *oracle) expect(day, gemeente, aanbieder, soort string, f figures) {
	d, err := time.Parse(time.DateOnly, day)
	require.NoError(o.t, err)
	o.mu.Lock()
	o.events = append(o.events, event{d, gemeente, aanbieder, soort, f})
	o.mu.Unlock()
}

// token is the bearer token of a party: gemeente 0606 sends and receives
// through its samenwerkingsverband.
func token(party string) string {
	if party == "0606" {
		return "dev-swv-demo-isd"
	}
	return "dev-" + party
}

// post sends a message as party and returns the HTTP status and the
// gateway's answer.
func (o *oracle) post(party string, xml []byte) (int, gateway.Accepted) {
	req, err := http.NewRequest(http.MethodPost, o.url+"/v1/berichten", bytes.NewReader(xml))
	require.NoError(o.t, err)
	req.Header.Set("Authorization", "Bearer "+token(party))
	req.Header.Set("Content-Type", "application/xml")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(o.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(o.t, err)
	var a gateway.Accepted
	if resp.StatusCode < 300 {
		require.NoError(o.t, json.Unmarshal(body, &a), "%s", body)
	}
	return resp.StatusCode, a
}

// deliver posts m as party; the switch must store it for its recipient.
func (o *oracle) deliver(party string, m *sample.Message) {
	code, a := o.post(party, m.XML)
	require.Equal(o.t, http.StatusAccepted, code, "%s from %s", m.Soort.Name, party)
	require.Equal(o.t, gateway.StatusStored, a.Status, "%s from %s: %+v", m.Soort.Name, party, a)
}

// withheld posts m as party; the switch must answer it itself.
func (o *oracle) withheld(party string, m *sample.Message) {
	code, a := o.post(party, m.XML)
	require.Equal(o.t, http.StatusAccepted, code, "%s from %s", m.Soort.Name, party)
	require.Equal(o.t, gateway.StatusRetour, a.Status, "%s from %s: %+v", m.Soort.Name, party, a)
	require.Equal(o.t, []string{"0001"}, a.RetourCodes)
}

var (
	totaalRe = regexp.MustCompile(`Totaal(Ingediend|Toegekend)Bedrag>\s*<(?:\w+:)?TotaalBedrag>([0-9]+)</(?:\w+:)?TotaalBedrag>\s*<(?:\w+:)?DebetCredit>([CD])<`)
	dagRe    = regexp.MustCompile(`Dagtekening>[0-9]{4}-[0-9]{2}-[0-9]{2}<`)
	refRe    = regexp.MustCompile(`ReferentieAanbieder>([^<\s]+)<`)
	codeRe   = regexp.MustCompile(`BerichtCode>[0-9]+<`)
)

// totaal is TotaalIngediendBedrag or TotaalToegekendBedrag of xml in
// cents, credit negative.
func totaal(t *testing.T, xml []byte, which string) int64 {
	for _, m := range totaalRe.FindAllSubmatch(xml, -1) {
		if string(m[1]) == which {
			n, err := strconv.ParseInt(string(m[2]), 10, 64)
			require.NoError(t, err)
			if string(m[3]) == "C" {
				n = -n
			}
			return n
		}
	}
	t.Fatalf("no Totaal%sBedrag", which)
	return 0
}

// redate sets the header Dagtekening of m (the first in the message).
func redate(m *sample.Message, day string) *sample.Message {
	c := *m
	first := true
	c.XML = dagRe.ReplaceAllFunc(m.XML, func(b []byte) []byte {
		if !first {
			return b
		}
		first = false
		return []byte("Dagtekening>" + day + "<")
	})
	c.Header.Dagtekening = day
	return &c
}

func day(s string) time.Time {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return d
}

// combo is one gemeente and aanbieder in one standard; its traffic runs on
// a generator of its own.
type combo struct {
	std                 bericht.Standard
	gemeente, aanbieder string
	index               int
	g                   *sample.Generator
}

func (c *combo) soort(t *testing.T, n int) bericht.Soort {
	prefix := map[bericht.Standard]string{bericht.IWmo: "WMO", bericht.IJw: "JW"}[c.std]
	s, ok := bericht.Lookup(fmt.Sprintf("%s%d", prefix, n))
	require.True(t, ok)
	return s
}

func (c *combo) heen(t *testing.T, n int, date string, opt sample.Options) *sample.Message {
	s := c.soort(t, n)
	if s.Sender == bericht.Gemeente {
		opt.Afzender, opt.Ontvanger = c.gemeente, c.aanbieder
	} else {
		opt.Afzender, opt.Ontvanger = c.aanbieder, c.gemeente
	}
	opt.Dagtekening = day(date)
	m, err := c.g.Heen(s, opt)
	require.NoError(t, err)
	return m
}

func (c *combo) answer(t *testing.T, m *sample.Message, date string, opt sample.AnswerOptions) *sample.Message {
	opt.Dagtekening = day(date)
	a, err := c.g.Answer(m, opt)
	require.NoError(t, err)
	return a
}

// traffic posts every combination's messages, several combinations at
// once.
func (o *oracle) traffic() {
	var combos []*combo
	for _, std := range []bericht.Standard{bericht.IWmo, bericht.IJw} {
		for _, g := range []string{"0363", "0384", "0599", "0606"} {
			for _, a := range []string{"42420001", "65656055", "12345678"} {
				combos = append(combos, &combo{std: std, gemeente: g, aanbieder: a, index: len(combos), g: sample.New(int64(1000 + len(combos)))})
			}
		}
	}
	work := make(chan *combo)
	var wg sync.WaitGroup
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range work {
				o.run(c)
			}
		}()
	}
	for _, c := range combos {
		work <- c
	}
	close(work)
	wg.Wait()
	require.False(o.t, o.t.Failed(), "the traffic went as planned")
}

// run posts one combination's traffic and writes down what each message
// must add. Gemeenten 0363 and 0599 get each conversation twice, so that
// their monthly cells reach the NZa export's threshold; 0384 and 0606 once.
func (o *oracle) run(c *combo) {
	t := o.t
	gm, ab := c.gemeente, c.aanbieder
	s := func(n int) string { return c.soort(t, n).Name }
	reps := 1
	if gm == "0363" || gm == "0599" {
		reps = 2
	}
	for rep := range reps {
		// A toewijzing answered in time, then sent again: the resend is
		// not counted.
		m := c.heen(t, 301, dHeen, sample.Options{})
		o.deliver(gm, m)
		o.expect(dHeen, gm, ab, s(301), figures{berichten: 1})
		o.expectLines(dHeen, gm, ab, m)
		o.deliver(ab, c.answer(t, m, dRetourIn, sample.AnswerOptions{}))
		o.expect(dRetourIn, gm, ab, s(302), figures{berichten: 1, retourberichten: 1, gemeten: 1, binnen: 1, werkdagen: 3})
		code, a := o.post(gm, m.XML)
		require.Equal(t, http.StatusOK, code)
		require.Equal(t, gateway.StatusDuplicate, a.Status)

		// Start levering of two lines, rejected late by the gemeente:
		// the 306 returns the lines, which are no starts.
		m = c.heen(t, 305, dHeen, sample.Options{Products: 2})
		o.deliver(ab, m)
		o.expect(dHeen, gm, ab, s(305), figures{berichten: 1, starts: 2})
		o.expectLines(dHeen, gm, ab, m)
		o.deliver(gm, c.answer(t, m, dRetourLate, sample.AnswerOptions{Reject: "9063"}))
		o.expect(dRetourLate, gm, ab, s(306), figures{berichten: 1, retourberichten: 1, afkeur: 1, gemeten: 1, werkdagen: 4})

		// Stop levering, approved in time.
		m = c.heen(t, 307, dHeen, sample.Options{Products: 1 + rep})
		o.deliver(ab, m)
		o.expect(dHeen, gm, ab, s(307), figures{berichten: 1, stops: int64(1 + rep)})
		o.expectLines(dHeen, gm, ab, m)
		o.deliver(gm, c.answer(t, m, dRetourIn, sample.AnswerOptions{}))
		o.expect(dRetourIn, gm, ab, s(308), figures{berichten: 1, retourberichten: 1, gemeten: 1, binnen: 1, werkdagen: 3})

		// A verzoek om toewijzing of two products, answered by a
		// toewijzing naming both: in time in one combination, late in the
		// next; each product is a request measured.
		tr, err := c.g.Traject(c.std, sample.TrajectOptions{Gemeente: gm, Aanbieder: ab, Products: 2, Einde: day("2026-06-30")})
		require.NoError(t, err)
		var vot, toew *sample.Message
		for _, m := range tr {
			switch m.Soort.Number {
			case 315:
				vot = redate(m, dVerzoek)
			case 301:
				toew = m
			}
		}
		o.deliver(ab, vot)
		o.expect(dVerzoek, gm, ab, s(315), figures{berichten: 1})
		retourOpt, retourAfkeur := sample.AnswerOptions{}, int64(0)
		if c.index%2 == 1 {
			retourOpt, retourAfkeur = sample.AnswerOptions{RetourCodes: []string{"0001"}}, 1 // the gemeente rejects on the header itself
		}
		o.deliver(gm, c.answer(t, vot, dVerzoek, retourOpt))
		o.expect(dVerzoek, gm, ab, s(316), figures{berichten: 1, retourberichten: 1, afkeur: retourAfkeur, gemeten: 1, binnen: 1})
		if (c.index+rep)%2 == 0 {
			o.deliver(gm, redate(toew, dAntwIn))
			o.expect(dAntwIn, gm, ab, s(301), figures{berichten: 1, gemeten: 2, binnen: 2, werkdagen: 5 + 5})
			o.expectLines(dAntwIn, gm, ab, toew)
		} else {
			o.deliver(gm, redate(toew, dAntwLate))
			o.expect(dAntwLate, gm, ab, s(301), figures{berichten: 1, gemeten: 2, werkdagen: 6 + 6})
			o.expectLines(dAntwLate, gm, ab, toew)
		}

		// A verzoek om wijziging, answered late by an antwoordbericht
		// naming it, whose retour comes after Tweede Pinksterdag.
		vow := c.heen(t, 317, dVerzoek, sample.Options{})
		o.deliver(ab, vow)
		o.expect(dVerzoek, gm, ab, s(317), figures{berichten: 1})
		o.deliver(gm, c.answer(t, vow, dVerzoekR, sample.AnswerOptions{}))
		o.expect(dVerzoekR, gm, ab, s(318), figures{berichten: 1, retourberichten: 1, gemeten: 1, binnen: 1, werkdagen: 1})
		ant := c.heen(t, 319, dAntwLate, sample.Options{})
		ref := refRe.FindSubmatch(vow.XML)
		require.NotNil(t, ref)
		ant.XML = refRe.ReplaceAll(ant.XML, []byte("ReferentieAanbieder>"+string(ref[1])+"<"))
		o.deliver(gm, ant)
		o.expect(dAntwLate, gm, ab, s(319), figures{berichten: 1, gemeten: 1, werkdagen: 6})
		o.deliver(ab, c.answer(t, ant, dAntwR, sample.AnswerOptions{}))
		o.expect(dAntwR, gm, ab, s(320), figures{berichten: 1, retourberichten: 1, gemeten: 1, binnen: 1, werkdagen: 1})

		// A declaratie of several clients, with credit lines; in the
		// first combination of each standard a credit in total. Its 325
		// approves in time, rejects a line late, or rejects it whole on
		// the header in time.
		var decl *sample.Message
		for try := 0; ; try++ {
			decl = c.heen(t, 323, dDecl, sample.Options{Products: 3, Clients: 2})
			if c.index%12 != 0 || rep > 0 || totaal(t, decl.XML, "Ingediend") < 0 {
				break
			}
			require.Less(t, try, 2000, "a declaratie with a credit total")
		}
		o.deliver(ab, decl)
		o.expect(dDecl, gm, ab, s(323), figures{berichten: 1, gedeclareerd: totaal(t, decl.XML, "Ingediend")})
		o.expectLines(dDecl, gm, ab, decl)
		switch (c.index + rep) % 3 {
		case 0:
			o.deliver(gm, c.answer(t, decl, dDeclIn, sample.AnswerOptions{}))
			o.expect(dDeclIn, gm, ab, s(325), figures{berichten: 1, gemeten: 1, binnen: 1, werkdagen: 10})
		case 1:
			a := c.answer(t, decl, dDeclLate, sample.AnswerOptions{Reject: "9307"})
			o.deliver(gm, a)
			o.expect(dDeclLate, gm, ab, s(325), figures{berichten: 1, afkeur: 1, prestaties: 1,
				afgewezen: totaal(t, a.XML, "Ingediend") - totaal(t, a.XML, "Toegekend"), gemeten: 1, werkdagen: 11})
		case 2:
			o.deliver(gm, c.answer(t, decl, dDeclIn, sample.AnswerOptions{RetourCodes: []string{"8848"}}))
			o.expect(dDeclIn, gm, ab, s(325), figures{berichten: 1, afkeur: 1, gemeten: 1, binnen: 1, werkdagen: 10})
		}

		// Control level 2: the switch withholds and answers a toewijzing,
		// a declaratie (its money rejected, not declared) and one more
		// heenbericht by turns.
		m = c.heen(t, 301, dHeen, sample.Options{Violate: "CS002"})
		o.withheld(gm, m)
		o.expect(dHeen, gm, ab, s(301), figures{technisch: 1})
		violate := "CS002"
		if rep == 1 {
			violate = "TR358"
		}
		m = c.heen(t, 323, dDecl, sample.Options{Products: 2, Violate: violate})
		o.withheld(ab, m)
		o.expect(dDecl, gm, ab, s(323), figures{technisch: 1, technischCent: totaal(t, m.XML, "Ingediend")})
		other := []struct {
			n       int
			violate string
			date    string
		}{{305, "CS002", dHeen}, {307, "TR018", dHeen}, {315, "CS002", dVerzoek}, {317, "CS002", dVerzoek}, {319, "CD085", dAntwIn}}[(c.index+rep)%5]
		m = c.heen(t, other.n, other.date, sample.Options{Violate: other.violate})
		sender := ab
		if m.Soort.Sender == bericht.Gemeente {
			sender = gm
		}
		o.withheld(sender, m)
		o.expect(other.date, gm, ab, s(other.n), figures{technisch: 1})
	}

	if c.aanbieder == "42420001" {
		// Control level 1 and routing: refused, stored nowhere, counted
		// nowhere.
		m := c.heen(t, 301, dHeen, sample.Options{})
		code, _ := o.post(gm, codeRe.ReplaceAll(m.XML, []byte("BerichtCode>999<")))
		assert.Equal(t, http.StatusUnprocessableEntity, code, "the XSD refuses a wrong BerichtCode")
		code, _ = o.post(gm, bytes.Replace(m.XML, []byte("Ontvanger>"+ab+"<"), []byte("Ontvanger>99999999<"), 1))
		assert.Equal(t, http.StatusUnprocessableEntity, code, "no such aanbieder")
	}
}

// rowKey names a row of /v1/stuurinfo or the NZa export.
type rowKey struct{ periode, van, gemeente, aanbieder, soort string }

// period is the label and first day of d's period.
func period(granularity string, d time.Time) (string, string) {
	switch granularity {
	case "maand":
		first := time.Date(d.Year(), d.Month(), 1, 0, 0, 0, 0, time.UTC)
		return first.Format("2006-01"), first.Format(time.DateOnly)
	case "week":
		monday := d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7))
		y, w := monday.ISOWeek()
		return fmt.Sprintf("%04d-W%02d", y, w), monday.Format(time.DateOnly)
	}
	return d.Format(time.DateOnly), d.Format(time.DateOnly)
}

// truth sums the events into rows of granularity, for the gemeenten given
// (all when none), over aanbieders when nza.
func (o *oracle) truth(granularity string, nza bool, gemeenten ...string) map[rowKey]*figures {
	out := map[rowKey]*figures{}
	for _, e := range o.events {
		if len(gemeenten) > 0 && !contains(gemeenten, e.gemeente) {
			continue
		}
		p, van := period(granularity, e.day)
		k := rowKey{p, van, e.gemeente, e.aanbieder, e.soort}
		if nza {
			k.van, k.aanbieder = "", ""
		}
		if out[k] == nil {
			out[k] = &figures{}
		}
		out[k].add(e.f)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// norms are the lead-time norms of docs/stuurinfo.md by message number.
var norms = map[int]map[string]any{
	302: {"naam": "retour", "werkdagen": 3.0}, 306: {"naam": "retour", "werkdagen": 3.0},
	308: {"naam": "retour", "werkdagen": 3.0}, 316: {"naam": "retour", "werkdagen": 3.0},
	318: {"naam": "retour", "werkdagen": 3.0}, 320: {"naam": "retour", "werkdagen": 3.0},
	301: {"naam": "verzoek", "werkdagen": 5.0}, 319: {"naam": "verzoek", "werkdagen": 5.0},
	325: {"naam": "declaratie", "werkdagen": 10.0},
}

// counts are the figures by their JSON names.
func (f *figures) counts() map[string]int64 {
	return map[string]int64{"berichten": f.berichten, "retourberichten": f.retourberichten,
		"afkeur_technisch": f.technisch, "afkeur_technisch_cent": f.technischCent, "afkeur": f.afkeur,
		"afkeur_prestaties": f.prestaties, "afgewezen_cent": f.afgewezen, "starts": f.starts, "stops": f.stops,
		"gedeclareerd_cent": f.gedeclareerd, "doorlooptijd_gemeten": f.gemeten,
		"doorlooptijd_binnen_norm": f.binnen, "doorlooptijd_werkdagen_som": f.werkdagen}
}

// wantRows is the /v1/stuurinfo answer the truth gives, as decoded JSON.
func (o *oracle) wantRows(granularity string, gemeenten ...string) []map[string]any {
	var out []map[string]any
	for k, f := range o.truth(granularity, false, gemeenten...) {
		r := map[string]any{"periode": k.periode, "van": k.van, "gemeente": k.gemeente, "aanbieder": k.aanbieder,
			"berichtsoort": k.soort, "afkeur_aandeel": 0.0, "binnen_norm_aandeel": 0.0}
		for name, v := range f.counts() {
			r[name] = float64(v)
		}
		if f.berichten > 0 {
			r["afkeur_aandeel"] = float64(f.afkeur) / float64(f.berichten)
		}
		if f.gemeten > 0 {
			r["binnen_norm_aandeel"] = float64(f.binnen) / float64(f.gemeten)
		}
		s, _ := bericht.Lookup(k.soort)
		if norm, ok := norms[s.Number]; ok {
			r["norm"] = norm
		}
		out = append(out, r)
	}
	sortRows(out, "periode", "gemeente", "aanbieder", "berichtsoort")
	return out
}

// wantCategories is the /v1/stuurinfo?per=productcategorie answer the
// truth gives, as decoded JSON.
func (o *oracle) wantCategories(granularity string, gemeenten ...string) []map[string]any {
	type key struct{ periode, van, gemeente, aanbieder, categorie string }
	sums := map[key]*lineEvent{}
	for _, e := range o.lines {
		if len(gemeenten) > 0 && !contains(gemeenten, e.gemeente) {
			continue
		}
		p, van := period(granularity, e.day)
		k := key{p, van, e.gemeente, e.aanbieder, e.categorie}
		if sums[k] == nil {
			sums[k] = &lineEvent{}
		}
		sums[k].toegewezen += e.toegewezen
		sums[k].starts += e.starts
		sums[k].stops += e.stops
		sums[k].cent += e.cent
	}
	var out []map[string]any
	for k, f := range sums {
		out = append(out, map[string]any{"periode": k.periode, "van": k.van, "gemeente": k.gemeente,
			"aanbieder": k.aanbieder, "productcategorie": k.categorie, "toegewezen": float64(f.toegewezen),
			"starts": float64(f.starts), "stops": float64(f.stops), "gedeclareerd_cent": float64(f.cent)})
	}
	sortRows(out, "periode", "gemeente", "aanbieder", "productcategorie")
	return out
}

// nzaSuppressed is a count of the NZa export: nil from 1 to 4.
func nzaSuppressed(n int64) *int64 {
	if n > 0 && n < 5 {
		return nil
	}
	return &n
}

// wantNZa is the NZa export the truth gives: its JSON rows as decoded, and
// its CSV records.
func (o *oracle) wantNZa() ([]map[string]any, [][]string) {
	columns := []string{"periode", "gemeente", "berichtsoort", "berichten", "retourberichten",
		"afkeur_technisch", "afkeur_technisch_cent", "afkeur", "afkeur_prestaties", "afgewezen_cent",
		"starts", "stops", "gedeclareerd_cent", "doorlooptijd_gemeten", "doorlooptijd_binnen_norm",
		"doorlooptijd_werkdagen_som"}
	// An amount is published with the count it sums over.
	with := map[string]string{"gedeclareerd_cent": "berichten", "afkeur_technisch_cent": "afkeur_technisch",
		"afgewezen_cent": "afkeur", "doorlooptijd_werkdagen_som": "doorlooptijd_gemeten"}
	var rows []map[string]any
	for k, f := range o.truth("maand", true) {
		r := map[string]any{"periode": k.periode, "gemeente": k.gemeente, "berichtsoort": k.soort}
		c := f.counts()
		for name, v := range c {
			var p *int64
			if count, ok := with[name]; ok {
				if nzaSuppressed(c[count]) != nil {
					p = &v
				}
			} else {
				p = nzaSuppressed(v)
			}
			if p == nil {
				r[name] = nil
			} else {
				r[name] = float64(*p)
			}
		}
		rows = append(rows, r)
	}
	sortRows(rows, "periode", "gemeente", "berichtsoort")
	records := [][]string{columns}
	for _, r := range rows {
		var rec []string
		for _, c := range columns {
			switch v := r[c].(type) {
			case nil:
				rec = append(rec, "")
			case string:
				rec = append(rec, v)
			case float64:
				rec = append(rec, strconv.FormatInt(int64(v), 10))
			}
		}
		records = append(records, rec)
	}
	return rows, records
}

func sortRows(rows []map[string]any, keys ...string) {
	sort.Slice(rows, func(i, j int) bool {
		for _, k := range keys {
			a, b := rows[i][k].(string), rows[j][k].(string)
			if a != b {
				return a < b
			}
		}
		return false
	})
}

// get asks the switch as party (a token name) and returns the body.
func (o *oracle) get(tok, path string) []byte {
	req, err := http.NewRequest(http.MethodGet, o.url+path, nil)
	require.NoError(o.t, err)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(o.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(o.t, err)
	require.Equal(o.t, http.StatusOK, resp.StatusCode, "%s: %s", path, body)
	return body
}

const span = "&van=2026-01-01&tot=2027-01-01"

func (o *oracle) rows(tok, granularity string) []map[string]any {
	var rows []map[string]any
	require.NoError(o.t, json.Unmarshal(o.get(tok, "/v1/stuurinfo?granularity="+granularity+span), &rows))
	return rows
}

// settle waits, within a bound, until the products have counted every
// message the test posted: the follower feeds them after the posts were
// answered.
func (o *oracle) settle() {
	var want int64
	for _, e := range o.events {
		want += e.f.berichten + e.f.technisch
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var got int64
		for _, r := range o.rows("dev-operator", "maand") {
			got += int64(r["berichten"].(float64) + r["afkeur_technisch"].(float64))
		}
		if got >= want || time.Now().After(deadline) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// compare checks every cell the switch serves against the truth.
func (o *oracle) compare() {
	t := o.t
	for _, g := range []string{"maand", "week", "dag"} {
		assert.Equal(t, o.wantRows(g), o.rows("dev-operator", g), "operator, %s", g)
	}
	assert.Equal(t, o.wantRows("maand", "0606"), o.rows("dev-swv-demo-isd", "maand"),
		"the samenwerkingsverband sees gemeente 0606, under its own code")
	assert.Equal(t, o.wantRows("maand", "0384"), o.rows("dev-0384", "maand"))
	require.NotEmpty(t, o.lines)
	for _, g := range []string{"maand", "week"} {
		var got []map[string]any
		require.NoError(t, json.Unmarshal(o.get("dev-operator", "/v1/stuurinfo?per=productcategorie&granularity="+g+span), &got))
		assert.Equal(t, o.wantCategories(g), got, "per productcategorie, %s", g)
	}
	var got0606 []map[string]any
	require.NoError(t, json.Unmarshal(o.get("dev-swv-demo-isd", "/v1/stuurinfo?per=productcategorie&granularity=maand"+span), &got0606))
	assert.Equal(t, o.wantCategories("maand", "0606"), got0606, "per productcategorie, the samenwerkingsverband")

	wantJSON, wantCSV := o.wantNZa()
	var got []map[string]any
	require.NoError(t, json.Unmarshal(o.get("dev-nza", "/v1/stuurinfo/nza?format=json"+span), &got))
	assert.Equal(t, wantJSON, got, "the NZa export")
	published := 0
	for _, r := range got {
		if r["berichten"] != nil && r["berichten"].(float64) > 0 {
			published++
		}
	}
	assert.Positive(t, published, "some cells reach the threshold")
	assert.Less(t, published, len(got), "and some do not")
	recs, err := csv.NewReader(bytes.NewReader(o.get("dev-nza", "/v1/stuurinfo/nza?format=csv"+span))).ReadAll()
	require.NoError(t, err)
	assert.Equal(t, wantCSV, recs, "the NZa export as CSV")
	nzaJSON := string(o.get("dev-nza", "/v1/stuurinfo/nza?"+span[1:]))
	for _, party := range []string{"42420001", "65656055", "12345678", "swv-demo-isd", gateway.SwitchMailbox} {
		assert.NotContains(t, nzaJSON, party)
	}
	assert.True(t, strings.HasPrefix(nzaJSON, "["), "JSON by default")
}

// browse reads the dashboard in Chromium as the operator, gemeente 0384 and
// the samenwerkingsverband of 0606 see it, over the 12 weeks that hold the
// traffic, and checks its tables cell by cell against the truth.
func (o *oracle) browse() {
	t := o.t
	b := browser.Start(t)
	for _, v := range []struct {
		token     string
		gemeenten []string
	}{{"dev-operator", nil}, {"dev-0384", []string{"0384"}}, {"dev-swv-demo-isd", []string{"0606"}}} {
		b.Login(o.url, v.token)
		b.Open(o.url+"/dashboard?tot=2026-05-31", "#per-soort")
		soort, aanbieder, total := o.dashboardTables(v.gemeenten...)
		assert.Equal(t, chart.Int(total), b.Text("#tile-berichten b"), v.token)
		assert.Equal(t, soort, b.Rows("#per-soort"), "%s: per berichtsoort", v.token)
		if v.gemeenten != nil {
			assert.Equal(t, aanbieder, b.Rows("#per-aanbieder"), "%s: per aanbieder", v.token)
		}
		got := b.Rows("#per-categorie")
		for _, r := range got[1:] {
			r[0], _, _ = strings.Cut(r[0], " ") // the code; its name is the codelist's
		}
		assert.Equal(t, o.categorieTable(v.gemeenten...), got, "%s: per productcategorie", v.token)
		t.Logf("%s: %d berichtsoorten, %d aanbieders, %d productcategorieën checked in the DOM",
			v.token, len(soort)-1, len(aanbieder)-1, len(got)-1)
	}
}

// dashboardTables are the dashboard's tables per berichtsoort and per
// aanbieder as the truth writes them, nl-NL, with the total of berichten.
func (o *oracle) dashboardTables(gemeenten ...string) (soort, aanbieder [][]string, total int64) {
	perSoort, perAanbieder := map[string]*figures{}, map[string]*figures{}
	for _, e := range o.events {
		if len(gemeenten) > 0 && !contains(gemeenten, e.gemeente) {
			continue
		}
		for k, m := range map[string]map[string]*figures{e.soort: perSoort, e.aanbieder: perAanbieder} {
			if m[k] == nil {
				m[k] = &figures{}
			}
			m[k].add(e.f)
		}
		total += e.f.berichten
	}
	soort = [][]string{{"berichtsoort", "berichten", "technisch afgekeurd", "afkeur", "afgekeurde prestaties", "starts", "stops", "gedeclareerd", "afgewezen"}}
	for _, name := range sortedKeys(perSoort) {
		f := perSoort[name]
		soort = append(soort, []string{name, chart.Int(f.berichten), chart.Int(f.technisch), chart.Int(f.afkeur),
			chart.Int(f.prestaties), chart.Int(f.starts), chart.Int(f.stops), chart.Euro(f.gedeclareerd),
			chart.Euro(f.afgewezen + f.technischCent)})
	}
	aanbieder = [][]string{{"aanbieder", "berichten", "technisch afgekeurd", "afkeur", "gedeclareerd", "afgewezen", "binnen de norm"}}
	for _, name := range sortedKeys(perAanbieder) {
		f := perAanbieder[name]
		within := "–"
		if f.gemeten > 0 {
			within = chart.Percent(100 * float64(f.binnen) / float64(f.gemeten))
		}
		aanbieder = append(aanbieder, []string{name, chart.Int(f.berichten), chart.Int(f.technisch), chart.Int(f.afkeur),
			chart.Euro(f.gedeclareerd), chart.Euro(f.afgewezen + f.technischCent), within})
	}
	return soort, aanbieder, total
}

// categorieTable is the dashboard's table per ProductCategorie as the
// truth writes it, with each categorie by its code ("zonder" for lines
// without Product).
func (o *oracle) categorieTable(gemeenten ...string) [][]string {
	sums := map[string]*lineEvent{}
	for _, e := range o.lines {
		if len(gemeenten) > 0 && !contains(gemeenten, e.gemeente) {
			continue
		}
		if sums[e.categorie] == nil {
			sums[e.categorie] = &lineEvent{}
		}
		s := sums[e.categorie]
		s.toegewezen, s.starts, s.stops, s.cent = s.toegewezen+e.toegewezen, s.starts+e.starts, s.stops+e.stops, s.cent+e.cent
	}
	out := [][]string{{"productcategorie", "toegewezen producten", "starts", "stops", "gedeclareerd"}}
	for _, code := range sortedKeys(sums) {
		s, name := sums[code], code
		if name == "" {
			name = "zonder"
		}
		out = append(out, []string{name, chart.Int(s.toegewezen), chart.Int(s.starts), chart.Int(s.stops), chart.Euro(s.cent)})
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
