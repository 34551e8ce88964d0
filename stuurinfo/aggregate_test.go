package stuurinfo

import (
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/sample"
	"github.com/knooppunt/knooppunt/store"
)

// feed hands aggregates observations as the store's feed does: numbered,
// each message with the mailbox it was stored in, an answer with its
// heenbericht's id and arrival.
type feed struct {
	t   *testing.T
	a   *Aggregates
	seq uint64
	ids map[*sample.Message]store.ID
	at  map[store.ID]time.Time
	// now is when the switch receives what is put, unless a test says
	// otherwise: after every date in the messages.
	now time.Time
}

func newFeed(t *testing.T) *feed {
	return &feed{t: t, a: NewAggregates(time.UTC), ids: map[*sample.Message]store.ID{}, at: map[store.ID]time.Time{},
		now: date("2026-12-01").Add(10 * time.Hour)}
}

// put observes m stored in mailbox at time at; answers names the
// heenbericht it answers.
func (f *feed) put(m *sample.Message, mailbox string, at time.Time, answers *sample.Message) {
	f.seq++
	id := store.ID{byte(f.seq >> 8), byte(f.seq)}
	f.ids[m], f.at[id] = id, at
	o := &Observation{Seq: f.seq, ID: id, Soort: m.Soort.Name, Sender: m.Header.Sender(), Recipient: mailbox,
		Received: at, Body: m.XML}
	if answers != nil {
		o.Answers = f.ids[answers]
		o.AnswersSoort, o.AnswersReceived = answers.Soort.Name, f.at[o.Answers]
	}
	f.a.Record(o)
}

// send observes m delivered to the party its header names, now.
func (f *feed) send(m *sample.Message, answers *sample.Message) {
	f.put(m, m.Header.Recipient(), f.now, answers)
}

// months are the month rows of every gemeente by berichtsoort, summed over
// aanbieders and periods.
func (f *feed) months() map[string]Counts {
	out := map[string]Counts{}
	for _, r := range f.a.Rows(Query{Granularity: Month}) {
		c := out[r.Gemeente+" "+r.Berichtsoort]
		c.add(&r.Counts)
		out[r.Gemeente+" "+r.Berichtsoort] = c
	}
	return out
}

var dagtekeningRe = regexp.MustCompile(`Dagtekening>[0-9]{4}-[0-9]{2}-[0-9]{2}<`)

// dated sets m's header Dagtekening (the first in the message) to d.
func dated(m *sample.Message, d string) *sample.Message {
	c := *m
	done := false
	c.XML = dagtekeningRe.ReplaceAllFunc(m.XML, func(b []byte) []byte {
		if done {
			return b
		}
		done = true
		return []byte("Dagtekening>" + d + "<")
	})
	c.Header.Dagtekening = d
	return &c
}

var totaalBedragRe = regexp.MustCompile(`Totaal(Ingediend|Toegekend)Bedrag>\s*<(?:\w+:)?TotaalBedrag>([0-9]+)</(?:\w+:)?TotaalBedrag>\s*<(?:\w+:)?DebetCredit>([CD])<`)

// totaal reads TotaalIngediendBedrag or TotaalToegekendBedrag of body,
// signed, independently of extract.
func totaal(t *testing.T, body []byte, which string) int64 {
	for _, m := range totaalBedragRe.FindAllSubmatch(body, -1) {
		if string(m[1]) != which {
			continue
		}
		n, err := strconv.ParseInt(string(m[2]), 10, 64)
		require.NoError(t, err)
		if string(m[3]) == "C" {
			n = -n
		}
		return n
	}
	t.Fatalf("no Totaal%sBedrag", which)
	return 0
}

// TestWithheldByTheSwitch: a heenbericht the switch withheld (stored in
// its own mailbox) counts as technical afkeur of its gemeente, its amount
// as rejected money; the switch's own answer counts nowhere; nothing is
// counted under the switch's mailbox. Across a save and load between the
// two, the answer is still recognised.
func TestWithheldByTheSwitch(t *testing.T) {
	g := sample.New(11)
	f := newFeed(t)
	decl := heen(t, g, "WMO323", sample.Options{Afzender: "12345678", Ontvanger: "0363", Products: 4, Clients: 2})
	f.put(decl, SwitchMailbox, f.now, nil)
	f.put(answer(t, g, decl, sample.AnswerOptions{RetourCodes: []string{"0001"}}), "12345678", f.now, decl)
	toew := heen(t, g, "WMO301", sample.Options{Afzender: "0363", Ontvanger: "12345678"})
	f.put(toew, SwitchMailbox, f.now, nil)

	path := t.TempDir() + "/stuurinfo.gob"
	require.NoError(t, f.a.SaveFile(path))
	var err error
	f.a, err = LoadFile(path, time.UTC)
	require.NoError(t, err)
	f.put(answer(t, g, toew, sample.AnswerOptions{RetourCodes: []string{"0001"}}), "0363", f.now, toew)

	got := f.months()
	assert.Equal(t, map[string]Counts{
		"0363 WMO323": {AfkeurTechnisch: 1, AfkeurTechnischBedrag: totaal(t, decl.XML, "Ingediend")},
		"0363 WMO301": {AfkeurTechnisch: 1},
	}, got, "no delivery, no declared money, no answer, no gemeente %q", SwitchMailbox)
	assert.Empty(t, f.a.open, "both answers arrived")
}

// TestSamenwerkingsverband: what a samenwerkingsverband's mailbox receives
// and what it sends counts for the gemeente the messages name.
func TestSamenwerkingsverband(t *testing.T) {
	g := sample.New(12)
	f := newFeed(t)
	start := heen(t, g, "JW305", sample.Options{Afzender: "42420001", Ontvanger: "0606", Products: 2})
	f.put(start, "swv-demo-isd", f.now, nil)
	f.put(answer(t, g, start, sample.AnswerOptions{}), "42420001", f.now, start)
	toew := heen(t, g, "JW301", sample.Options{Afzender: "0606", Ontvanger: "42420001"})
	f.put(toew, "42420001", f.now, nil)
	f.put(answer(t, g, toew, sample.AnswerOptions{}), "swv-demo-isd", f.now, toew)

	got := f.months()
	assert.Equal(t, map[string]Counts{
		"0606 JW305": {Berichten: 1, Starts: 2},
		"0606 JW306": {Berichten: 1, Retourberichten: 1, Gemeten: 1, BinnenNorm: 1},
		"0606 JW301": {Berichten: 1},
		"0606 JW302": {Berichten: 1, Retourberichten: 1, Gemeten: 1, BinnenNorm: 1},
	}, got)
	for _, r := range f.a.Rows(Query{Granularity: Day}) {
		assert.Equal(t, "42420001", r.Aanbieder)
	}
}

// TestStartsAndStops: starts are first aanleveringen in 305s and stops in
// 307s; the lines a retour returns with a rejection are neither.
func TestStartsAndStops(t *testing.T) {
	g := sample.New(13)
	f := newFeed(t)
	for _, tc := range []struct {
		soort string
		lines int
	}{{"WMO305", 3}, {"WMO307", 2}, {"JW305", 1}, {"JW307", 4}} {
		m := heen(t, g, tc.soort, sample.Options{Afzender: "65656055", Ontvanger: "0384", Products: tc.lines})
		f.send(m, nil)
		f.send(answer(t, g, m, sample.AnswerOptions{Reject: "9063"}), m)
	}
	got := f.months()
	assert.Equal(t, int64(3), got["0384 WMO305"].Starts)
	assert.Equal(t, int64(2), got["0384 WMO307"].Stops)
	assert.Equal(t, int64(1), got["0384 JW305"].Starts)
	assert.Equal(t, int64(4), got["0384 JW307"].Stops)
	for _, s := range []string{"WMO306", "WMO308", "JW306", "JW308"} {
		c := got["0384 "+s]
		assert.Zero(t, c.Starts+c.Stops, s)
		assert.Equal(t, int64(1), c.Afkeur, s)
	}
}

// TestDeclaratieAntwoord: a 325 that rejects counts as afkeur, with the
// lines it rejects and the money (ingediend minus toegekend); one that
// approves does not; one that rejects on its header counts as afkeur
// without lines or amounts, which it does not name. The 323s' amounts,
// credits included, are declared whatever the answer.
func TestDeclaratieAntwoord(t *testing.T) {
	g := sample.New(14)
	f := newFeed(t)
	var declared, rejected int64
	for i, opt := range []sample.AnswerOptions{{}, {Reject: "9307"}, {RetourCodes: []string{"0001"}}, {Reject: "9319"}} {
		d := heen(t, g, "WMO323", sample.Options{Afzender: "12345678", Ontvanger: "0599", Products: 5, Clients: 2})
		f.send(d, nil)
		declared += totaal(t, d.XML, "Ingediend")
		a := answer(t, g, d, opt)
		f.send(a, d)
		if opt.Reject != "" {
			rejected += totaal(t, a.XML, "Ingediend") - totaal(t, a.XML, "Toegekend")
		}
		if i == 1 {
			assert.NotZero(t, rejected)
		}
	}
	got := f.months()
	assert.Equal(t, Counts{Berichten: 4, Gedeclareerd: declared}, got["0599 WMO323"])
	assert.Equal(t, Counts{Berichten: 4, Afkeur: 3, AfkeurPrestaties: 2, Afgewezen: rejected,
		Gemeten: 4, BinnenNorm: 4}, got["0599 WMO325"])
}

// TestDatesAndLeadTimes: a message counts in the period of its own date,
// a retour's lead time runs from its heenbericht's date in werkdagen
// (Bevrijdingsdag is not one), across a month's end, and is attributed to
// the retour's period; a date after the day the switch received the
// message counts as that day.
func TestDatesAndLeadTimes(t *testing.T) {
	g := sample.New(15)
	f := newFeed(t)
	for _, d := range []string{"2026-05-06", "2026-05-07"} { // 3 and 4 werkdagen after Thursday 30 April
		m := dated(heen(t, g, "WMO301", sample.Options{Afzender: "0363", Ontvanger: "42420001"}), "2026-04-30")
		f.send(m, nil)
		f.send(answer(t, g, m, sample.AnswerOptions{Dagtekening: date(d)}), m)
	}
	late := heen(t, g, "WMO305", sample.Options{Afzender: "42420001", Ontvanger: "0363", Dagtekening: date("2026-12-20")})
	f.put(late, "0363", date("2026-12-02").Add(9*time.Hour), nil)

	rows := f.a.Rows(Query{Granularity: Month})
	require.Len(t, rows, 3)
	assert.Equal(t, []string{"2026-04 WMO301", "2026-05 WMO302", "2026-12 WMO305"},
		[]string{rows[0].Periode + " " + rows[0].Berichtsoort, rows[1].Periode + " " + rows[1].Berichtsoort, rows[2].Periode + " " + rows[2].Berichtsoort})
	assert.Equal(t, Counts{Berichten: 2, Retourberichten: 2, Gemeten: 2, BinnenNorm: 1, Werkdagen: 3 + 4}, rows[1].Counts)
	require.NotNil(t, rows[1].Norm)
	assert.Equal(t, NormRetour, *rows[1].Norm)
	assert.InDelta(t, 0.5, rows[1].BinnenNormAandeel, 1e-9)
	days := f.a.Rows(Query{Granularity: Day, Van: date("2026-12-01")})
	require.Len(t, days, 1)
	assert.Equal(t, "2026-12-02", days[0].Van, "a date after its receipt counts as the day received")
}

// TestVerzoekLeadTimes: a 301 or 319 answers the 315 or 317 whose
// ReferentieAanbieder it names (OP274, OP346: either answers either), per
// request, in werkdagen from the request's date; Hemelvaartsdag is not one.
// A request is measured once.
func TestVerzoekLeadTimes(t *testing.T) {
	g := sample.New(16)
	f := newFeed(t)
	msgs, err := g.Traject(bericht.IJw, sample.TrajectOptions{Gemeente: "0363", Aanbieder: "12345678", Products: 2, Einde: date("2026-08-31")})
	require.NoError(t, err)
	var vot *sample.Message
	for _, m := range msgs {
		switch m.Soort.Number {
		case 315:
			vot = dated(m, "2026-05-13") // Wednesday before Hemelvaart
			f.send(vot, nil)
		case 301:
			f.send(dated(m, "2026-05-21"), nil) // 5 werkdagen: within
			f.send(dated(m, "2026-05-22"), nil) // the same references again: not measured twice
		}
	}
	refs := regexp.MustCompile(`ReferentieAanbieder>([^<\s]+)<`).FindAllSubmatch(vot.XML, -1)
	require.Len(t, refs, 2)

	vow := dated(heen(t, g, "JW317", sample.Options{Afzender: "12345678", Ontvanger: "0363"}), "2026-05-13")
	f.send(vow, nil)
	vot2 := dated(heen(t, g, "JW315", sample.Options{Afzender: "12345678", Ontvanger: "0363", Products: 1}), "2026-05-13")
	f.send(vot2, nil)
	for _, req := range []*sample.Message{vow, vot2} {
		ref := regexp.MustCompile(`ReferentieAanbieder>([^<\s]+)<`).FindSubmatch(req.XML)[1]
		a := dated(heen(t, g, "JW319", sample.Options{Afzender: "0363", Ontvanger: "12345678"}), "2026-05-22") // 6: late
		a.XML = regexp.MustCompile(`ReferentieAanbieder>[^<\s]+<`).ReplaceAll(a.XML, []byte("ReferentieAanbieder>"+string(ref)+"<"))
		f.send(a, nil)
	}
	got := f.months()
	assert.Equal(t, Counts{Berichten: 2, Gemeten: 2, BinnenNorm: 2, Werkdagen: 5 + 5}, got["0363 JW301"])
	assert.Equal(t, Counts{Berichten: 2, Gemeten: 2, BinnenNorm: 0, Werkdagen: 6 + 6}, got["0363 JW319"])
	assert.Empty(t, f.a.open, "every request answered")
}

// TestWhatIsNotCounted: berichtsoorten outside the standards (the switch's
// WLZ-SIGNAAL) are not counted, nor a message whose header is unreadable
// and whose mailbox is no gemeente's — a samenwerkingsverband's, or the
// switch's own, whose answer is not counted either; all still move the
// position.
func TestWhatIsNotCounted(t *testing.T) {
	a := NewAggregates(time.UTC)
	at := date("2026-03-02").Add(9 * time.Hour)
	a.Record(&Observation{Seq: 1, Soort: "WLZ-SIGNAAL", Sender: SwitchMailbox, Recipient: "0363", Received: at, Body: []byte("<x/>")})
	a.Record(&Observation{Seq: 2, Soort: "WMO305", Sender: "42420001", Recipient: "swv-demo-isd", Received: at})
	a.Record(&Observation{Seq: 3, Soort: "WMO305", Sender: "42420001", Recipient: "0606", Received: at})
	// A withheld heenbericht whose bytes are gone, and the switch's answer.
	heenID := store.ID{9}
	a.Record(&Observation{Seq: 4, ID: heenID, Soort: "WMO305", Sender: "42420001", Recipient: SwitchMailbox, Received: at})
	a.Record(&Observation{Seq: 5, ID: store.ID{10}, Soort: "WMO306", Sender: "0363", Recipient: "42420001", Received: at, Answers: heenID})
	rows := a.Rows(Query{Granularity: Month})
	require.Len(t, rows, 1)
	assert.Equal(t, "0606", rows[0].Gemeente, "an unread message in a gemeente's own mailbox counts by its receipt")
	assert.Equal(t, "2026-03", rows[0].Periode)
	assert.Equal(t, uint64(5), a.Position())
	assert.Empty(t, a.open)
}
