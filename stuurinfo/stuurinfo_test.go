package stuurinfo

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/sample"
	"github.com/knooppunt/knooppunt/store"
)

// flow feeds aggregates the way the tap does: heen messages and their
// answers, each at a given time.
type flow struct {
	t    *testing.T
	a    *Aggregates
	next byte
	ids  map[*sample.Message]store.ID
	at   map[store.ID]time.Time
}

func newFlow(t *testing.T) *flow {
	return &flow{t: t, a: NewAggregates(time.UTC), ids: map[*sample.Message]store.ID{}, at: map[store.ID]time.Time{}}
}

// record observes m at time at; answers names the heenbericht it answers.
func (f *flow) record(m *sample.Message, at time.Time, answers *sample.Message) {
	f.next++
	id := store.ID{f.next}
	f.ids[m], f.at[id] = id, at
	sender, recipient := m.Header.Sender(), m.Header.Recipient()
	o := &Observation{ID: id, Soort: m.Soort.Name, Sender: sender, Recipient: recipient, Received: at, Body: m.XML}
	if answers != nil {
		o.Answers = f.ids[answers]
		o.AnswersSoort, o.AnswersReceived = answers.Soort.Name, f.at[o.Answers]
	}
	f.a.Record(o)
}

func soort(t testing.TB, name string) bericht.Soort {
	s, ok := bericht.Lookup(name)
	require.True(t, ok, name)
	return s
}

func heen(t *testing.T, g *sample.Generator, name string, opt sample.Options) *sample.Message {
	m, err := g.Heen(soort(t, name), opt)
	require.NoError(t, err)
	return m
}

func answer(t *testing.T, g *sample.Generator, m *sample.Message, opt sample.AnswerOptions) *sample.Message {
	a, err := g.Answer(m, opt)
	require.NoError(t, err)
	return a
}

func rowsBy(rows []Row, soort string) []Row {
	var out []Row
	for _, r := range rows {
		if r.Berichtsoort == soort {
			out = append(out, r)
		}
	}
	return out
}

func TestAggregates(t *testing.T) {
	g := sample.New(21)
	f := newFlow(t)
	mon := date("2026-03-02") // a Monday
	opt := sample.Options{Afzender: "0363", Ontvanger: "12345678", Dagtekening: mon}

	// Three 301s answered: on time (Wed), late (next Mon = 5 wd), rejected.
	for i, tc := range []struct {
		after  int
		reject string
	}{{2, ""}, {7, ""}, {1, "0001"}} {
		m := heen(t, g, "WMO301", opt)
		f.record(m, mon.Add(time.Duration(i)*time.Hour), nil)
		var codes []string
		if tc.reject != "" {
			codes = []string{tc.reject}
		}
		f.record(answer(t, g, m, sample.AnswerOptions{RetourCodes: codes, Dagtekening: mon.AddDate(0, 0, tc.after)}),
			mon.AddDate(0, 0, tc.after), m)
	}
	// A declaratie of a known amount, answered 12 working days later.
	decl := heen(t, g, "WMO323", sample.Options{Afzender: "12345678", Ontvanger: "0363", Dagtekening: mon})
	f.record(decl, mon, nil)
	f.record(answer(t, g, decl, sample.AnswerOptions{Dagtekening: mon.AddDate(0, 0, 16)}), mon.AddDate(0, 0, 16), decl)
	// Starts and stops.
	start := heen(t, g, "WMO305", sample.Options{Afzender: "12345678", Ontvanger: "0363", Products: 2, Dagtekening: mon})
	f.record(start, mon, nil)
	stop := heen(t, g, "WMO307", sample.Options{Afzender: "12345678", Ontvanger: "0363", Products: 3, Dagtekening: mon})
	f.record(stop, mon, nil)
	// Another gemeente's traffic.
	f.record(heen(t, g, "WMO301", sample.Options{Afzender: "0599", Ontvanger: "12345678", Dagtekening: mon}), mon, nil)

	month := f.a.Rows(Query{Granularity: Month, Gemeenten: []string{"0363"}})
	for _, r := range month {
		assert.Equal(t, "0363", r.Gemeente)
		assert.Equal(t, "12345678", r.Aanbieder)
		assert.Equal(t, "2026-03", r.Periode)
	}
	w301 := rowsBy(month, "WMO301")
	require.Len(t, w301, 1)
	assert.Equal(t, int64(3), w301[0].Berichten)
	retour := rowsBy(month, "WMO302")
	require.Len(t, retour, 1)
	assert.Equal(t, int64(3), retour[0].Retourberichten)
	assert.Equal(t, int64(1), retour[0].Afkeur)
	assert.InDelta(t, 1.0/3, retour[0].AfkeurAandeel, 1e-9)
	assert.Equal(t, int64(3), retour[0].Gemeten)
	assert.Equal(t, int64(2), retour[0].BinnenNorm, "2 and 1 werkdagen within 3; 5 not")
	assert.Equal(t, int64(2+5+1), retour[0].Werkdagen)
	require.NotNil(t, retour[0].Norm)
	assert.Equal(t, NormRetour, *retour[0].Norm)

	d := rowsBy(month, "WMO323")
	require.Len(t, d, 1)
	assert.Equal(t, declared(t, decl.XML), d[0].Gedeclareerd)
	assert.NotZero(t, d[0].Gedeclareerd)
	a325 := rowsBy(month, "WMO325")
	require.Len(t, a325, 1)
	assert.Equal(t, int64(1), a325[0].Gemeten)
	assert.Equal(t, int64(0), a325[0].BinnenNorm, "16 days is more than 10 werkdagen")
	assert.Equal(t, int64(2), rowsBy(month, "WMO305")[0].Starts)
	assert.Equal(t, int64(3), rowsBy(month, "WMO307")[0].Stops)

	all := f.a.Rows(Query{Granularity: Month})
	assert.Len(t, rowsBy(all, "WMO301"), 2, "two gemeenten")
	tot := f.a.Rows(Query{Granularity: Week, Totals: true})
	w := rowsBy(tot, "WMO301")
	require.Len(t, w, 1)
	assert.Equal(t, int64(4), w[0].Berichten)
	assert.Equal(t, "2026-W10", w[0].Periode)
	assert.Empty(t, w[0].Gemeente)

	// Periods: the late retour (9 March) is in the next week and day.
	days := f.a.Rows(Query{Granularity: Day, Van: date("2026-03-09"), Tot: date("2026-03-10")})
	require.Len(t, days, 1)
	assert.Equal(t, "WMO302", days[0].Berichtsoort)
}

var totaalRe = regexp.MustCompile(`TotaalIngediendBedrag>\s*<(?:\w+:)?TotaalBedrag>([0-9]+)</(?:\w+:)?TotaalBedrag>\s*<(?:\w+:)?DebetCredit>([CD])<`)

// declared reads the 323's TotaalIngediendBedrag independently of extract.
func declared(t *testing.T, body []byte) int64 {
	m := totaalRe.FindSubmatch(body)
	require.NotNil(t, m, "323 has TotaalIngediendBedrag")
	n, err := strconv.ParseInt(string(m[1]), 10, 64)
	require.NoError(t, err)
	if string(m[2]) == "C" {
		n = -n
	}
	return n
}

func TestNZa(t *testing.T) {
	a := NewAggregates(time.UTC)
	at := date("2026-05-12")
	for i := 0; i < 7; i++ {
		a.Record(&Observation{Soort: "WMO301", Sender: "0363", Recipient: "1234567" + string(rune('0'+i)), Received: at})
	}
	for i := 0; i < 3; i++ {
		a.Record(&Observation{Soort: "WMO301", Sender: "0599", Recipient: "12345678", Received: at})
	}
	rows := a.NZa(Query{})
	require.Len(t, rows, 2)
	assert.Equal(t, "0363", rows[0].Gemeente)
	require.NotNil(t, rows[0].Berichten)
	assert.Equal(t, int64(7), *rows[0].Berichten, "summed over aanbieders")
	assert.Nil(t, rows[1].Berichten, "3 is suppressed")
	assert.Nil(t, rows[1].Gedeclareerd, "an amount goes with its count")
	require.NotNil(t, rows[1].Afkeur)
	assert.Zero(t, *rows[1].Afkeur, "0 is published")
	b, err := json.Marshal(rows)
	require.NoError(t, err)
	assert.NotContains(t, string(b), "12345678", "no aanbieder codes")
	assert.NotContains(t, string(b), "aanbieder")
}

func TestSnapshotRoundTrip(t *testing.T) {
	g := sample.New(8)
	f := newFlow(t)
	m := heen(t, g, "WMO315", sample.Options{})
	f.record(m, date("2026-02-02"), nil)
	f.record(heen(t, g, "WMO323", sample.Options{}), date("2026-02-03"), nil)
	path := t.TempDir() + "/stuurinfo.gob"
	require.NoError(t, f.a.SaveFile(path))
	b, err := LoadFile(path, time.UTC)
	require.NoError(t, err)
	for g := Day; g <= Month; g++ {
		assert.Equal(t, f.a.Rows(Query{Granularity: g}), b.Rows(Query{Granularity: g}))
	}
	assert.Equal(t, f.a.open, b.open)
	assert.Equal(t, uint64(2), f.a.Version(), "two messages recorded")
	assert.Zero(t, b.Version(), "nothing recorded since loading: nothing to save")
	empty, err := LoadFile(t.TempDir()+"/none", time.UTC)
	require.NoError(t, err)
	assert.Empty(t, empty.Rows(Query{}))
	_, err = ReadAggregates(strings.NewReader("garbage"), time.UTC)
	assert.ErrorIs(t, err, ErrSnapshot)
}

// tokens authenticates by bearer token for the handler tests.
func tokens(r *http.Request) (Principal, bool) {
	switch r.Header.Get("Authorization") {
	case "Bearer op":
		return Principal{ID: "beheer", Operator: true}, true
	case "Bearer g363":
		return Principal{ID: "0363"}, true
	case "Bearer nza":
		return Principal{ID: "nza", NZa: true}, true
	}
	return Principal{}, false
}

func testHandler(t *testing.T) http.Handler {
	a := NewAggregates(time.UTC)
	now := date("2026-05-20")
	for _, g := range []string{"0363", "0599"} {
		for d := 0; d < 40; d++ {
			a.Record(&Observation{Soort: "WMO301", Sender: g, Recipient: "12345678", Received: now.AddDate(0, 0, -d)})
		}
	}
	return Handler(HandlerConfig{Aggregates: a, Authenticate: tokens, Location: time.UTC,
		Now:       func() time.Time { return now },
		Mailboxes: func(p Principal) (MailboxStatus, bool) { return MailboxStatus{Open: 17, Quarantined: 2}, p.Operator }})
}

func get(t *testing.T, h http.Handler, token, url string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestHandler(t *testing.T) {
	h := testHandler(t)
	tests := []struct {
		name, token, url string
		status           int
		code             string
		gemeenten        []string
		rows             int
	}{
		{"anonymous", "", "/v1/stuurinfo", 401, "unauthenticated", nil, 0},
		{"operator sees all", "op", "/v1/stuurinfo?granularity=maand&van=2026-04-01&tot=2026-06-01", 200, "", []string{"0363", "0599"}, 4},
		{"operator filters", "op", "/v1/stuurinfo?granularity=maand&van=2026-04-01&tot=2026-06-01&gemeente=0599", 200, "", []string{"0599"}, 2},
		{"gemeente sees its own", "g363", "/v1/stuurinfo?granularity=maand&van=2026-04-01&tot=2026-06-01", 200, "", []string{"0363"}, 2},
		{"gemeente asks another", "g363", "/v1/stuurinfo?gemeente=0599", 403, "forbidden", nil, 0},
		{"bad date", "op", "/v1/stuurinfo?van=gisteren", 400, "bad-date", nil, 0},
		{"tot before van", "op", "/v1/stuurinfo?van=2026-05-01&tot=2026-04-01", 400, "bad-date", nil, 0},
		{"bad granularity", "op", "/v1/stuurinfo?granularity=jaar", 400, "bad-granularity", nil, 0},
		{"nza for operators", "op", "/v1/stuurinfo/nza?van=2026-04-01&tot=2026-06-01", 200, "", []string{"0363", "0599"}, 4},
		{"nza not for gemeenten", "g363", "/v1/stuurinfo/nza", 403, "forbidden", nil, 0},
		{"nza reads its export", "nza", "/v1/stuurinfo/nza?van=2026-04-01&tot=2026-06-01", 200, "", []string{"0363", "0599"}, 4},
		{"nza reads nothing else", "nza", "/v1/stuurinfo", 403, "forbidden", nil, 0},
		{"nza has no dashboard", "nza", "/dashboard", 403, "forbidden", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := get(t, h, tt.token, tt.url)
			require.Equal(t, tt.status, w.Code, w.Body.String())
			if tt.code != "" {
				var e apiError
				require.NoError(t, json.Unmarshal(w.Body.Bytes(), &e))
				assert.Equal(t, tt.code, e.Code)
				return
			}
			var rows []struct {
				Gemeente string `json:"gemeente"`
			}
			require.NoError(t, json.Unmarshal(w.Body.Bytes(), &rows))
			assert.Len(t, rows, tt.rows)
			seen := map[string]bool{}
			for _, r := range rows {
				seen[r.Gemeente] = true
			}
			for _, g := range tt.gemeenten {
				assert.True(t, seen[g], g)
			}
			assert.Len(t, seen, len(tt.gemeenten))
		})
	}
}

func TestCSVExport(t *testing.T) {
	w := get(t, testHandler(t), "g363", "/v1/stuurinfo?format=csv&granularity=week&van=2026-05-04&tot=2026-05-18")
	require.Equal(t, 200, w.Code)
	recs, err := csv.NewReader(bytes.NewReader(w.Body.Bytes())).ReadAll()
	require.NoError(t, err)
	require.Len(t, recs, 3)
	assert.Equal(t, CSVHeader, recs[0])
	assert.Equal(t, []string{"2026-W19", "2026-05-04", "0363", "12345678", "WMO301", "7"}, recs[1][:6])
}

func TestDashboardScope(t *testing.T) {
	h := testHandler(t)
	op := get(t, h, "op", "/dashboard").Body.String()
	for _, id := range []string{`id="chart-volume"`, `id="chart-afkeur"`, `id="chart-doorlooptijd"`, `id="tile-quarantaine"`} {
		assert.Contains(t, op, id)
	}
	assert.Contains(t, op, "<b>80</b>", "operator: both gemeenten's 2×40 messages within 12 weeks")
	gm := get(t, h, "g363", "/dashboard").Body.String()
	assert.Contains(t, gm, "<b>40</b>")
	assert.NotContains(t, gm, "tile-quarantaine", "store-wide counters are for operators")
	assert.Equal(t, 401, get(t, h, "", "/dashboard").Code)
}

func FuzzExtract(f *testing.F) {
	g := sample.New(1)
	for _, name := range []string{"WMO323", "WMO305", "WMO315"} {
		m, err := g.Heen(soort(f, name), sample.Options{})
		require.NoError(f, err)
		f.Add(m.XML)
	}
	f.Add([]byte(antwoordClientRejected))
	f.Fuzz(func(t *testing.T, body []byte) {
		fs, err := extract(body)
		if err == nil {
			require.GreaterOrEqual(t, fs.starts, 0)
		}
	})
}

func TestDayRetention(t *testing.T) {
	a := NewAggregates(time.UTC)
	first := date("2026-01-05")
	a.Record(&Observation{Soort: "WMO301", Sender: "0363", Recipient: "12345678", Received: first})
	a.Record(&Observation{Soort: "WMO315", Sender: "12345678", Recipient: "0363", Received: first,
		Body: []byte("<R><AangevraagdProduct><ReferentieAanbieder>x</ReferentieAanbieder></AangevraagdProduct></R>")})
	require.Len(t, a.open, 1)
	a.Record(&Observation{Soort: "WMO301", Sender: "0363", Recipient: "12345678", Received: first.AddDate(0, 0, DayRetention-1)})
	assert.Len(t, a.Rows(Query{Granularity: Day}), 3, "within retention")
	a.Record(&Observation{Soort: "WMO301", Sender: "0363", Recipient: "12345678", Received: first.AddDate(0, 0, DayRetention)})
	days := a.Rows(Query{Granularity: Day})
	require.Len(t, days, 2, "the first day's rows are gone")
	assert.Equal(t, first.AddDate(0, 0, DayRetention-1).Format("2006-01-02"), days[0].Van)
	assert.Len(t, a.Rows(Query{Granularity: Month, Van: date("2026-01-01"), Tot: date("2026-02-01")}), 2, "months are kept")
	assert.Len(t, a.open, 1, "requests wait a year")
	a.Record(&Observation{Soort: "WMO301", Sender: "0363", Recipient: "12345678", Received: first.AddDate(0, 0, RequestRetention+1)})
	assert.Empty(t, a.open)
}
