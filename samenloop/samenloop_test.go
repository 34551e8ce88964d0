package samenloop

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/sample"
	"github.com/knooppunt/knooppunt/store"
	"github.com/knooppunt/knooppunt/xsd"
)

// memStore is a Putter with the store's dedup semantics.
type memStore struct {
	mu   sync.Mutex
	msgs map[store.Key][]byte
	all  []*store.Message
	fail error
}

func newMemStore() *memStore { return &memStore{msgs: map[store.Key][]byte{}} }

func (m *memStore) Put(_ context.Context, msg *store.Message) (store.Receipt, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return store.Receipt{}, m.fail
	}
	if b, ok := m.msgs[msg.Key()]; ok {
		if string(b) == string(msg.Body) {
			return store.Receipt{Duplicate: true}, nil
		}
		return store.Receipt{}, &store.DuplicateError{Key: msg.Key()}
	}
	m.msgs[msg.Key()] = append([]byte(nil), msg.Body...)
	cp := *msg
	m.all = append(m.all, &cp)
	return store.Receipt{}, nil
}

func (m *memStore) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.all)
}

var bsnRe = regexp.MustCompile(`<(?:\w+:)?Bsn>([0-9]{9})<`)

func bsnOf(t testing.TB, body []byte) string {
	m := bsnRe.FindSubmatch(body)
	require.NotNil(t, m, "message has a Bsn")
	return string(m[1])
}

func soort(t testing.TB, name string) bericht.Soort {
	s, ok := bericht.Lookup(name)
	require.True(t, ok, name)
	return s
}

func register(t testing.TB, lines ...string) Register {
	reg, err := ParseRegister(strings.NewReader(RegisterHeader + "\n" + strings.Join(lines, "\n") + "\n"))
	require.NoError(t, err)
	return reg
}

func TestParseRegister(t *testing.T) {
	good := "123456782"
	tests := []struct {
		name  string
		body  string
		lines []int
	}{
		{"good", RegisterHeader + "\n" + good + ",ja,2026-01-02,2026-02-01,\n", nil},
		{"good with einddatum and BOM", "\ufeff" + RegisterHeader + "\n" + good + ",onbekend,2026-01-02,2026-02-01,2026-12-31\n", nil},
		{"wrong header", "bsn,status\n", []int{1}},
		{"empty", "", []int{1}},
		{"every bad line reported", RegisterHeader + "\n" +
			good + ",ja,2026-01-02,2026-02-01,\n" + // 2 good
			"123456789,ja,2026-01-02,2026-02-01,\n" + // 3 elfproef
			"111222333,misschien,2026-01-02,2026-02-01,\n" + // 4 status
			"111222333,ja,2026-13-02,2026-02-01,\n" + // 5 date
			good + ",nee,2026-01-02,2026-02-01,\n" + // 6 duplicate
			"111222333,ja,2026-01-02,2026-02-01,2026-01-01\n" + // 7 eind before ingang
			"111222333,ja\n", // 8 fields
			[]int{3, 4, 5, 6, 7, 8}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg, err := ParseRegister(strings.NewReader(tt.body))
			if tt.lines == nil {
				require.NoError(t, err)
				require.Len(t, reg, 1)
				assert.Equal(t, uint32(123456782), reg[123456782].BSN)
				return
			}
			var ie *ImportError
			require.ErrorAs(t, err, &ie)
			assert.Nil(t, reg, "nothing half-imported")
			var got []int
			for _, l := range ie.Lines {
				got = append(got, l.Line)
				assert.NotContains(t, l.Reason, "111222333", "no BSN in reasons")
			}
			assert.Equal(t, tt.lines, got)
			assert.Equal(t, CodeRegisterInvalid, errCode(err))
		})
	}
}

// wmo301 generates a 301 and returns it with its first toewijzing.
func wmo301(t *testing.T, g *sample.Generator, gemeente string) (*sample.Message, fact) {
	m, err := g.Heen(soort(t, "WMO301"), sample.Options{Afzender: gemeente, Products: 1})
	require.NoError(t, err)
	p, err := parseMessage("WMO301", m.XML)
	require.NoError(t, err)
	require.Len(t, p.facts, 1)
	require.Equal(t, gemeente, p.gemeente)
	return m, p.facts[0]
}

func newEngine(t *testing.T, st Putter, now time.Time) *Engine {
	e, err := New(Config{Store: st, Location: time.UTC, Now: func() time.Time { return now },
		Mailbox: func(g string) (string, bool) { return "swv-" + g, true }})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, e.Close()) })
	return e
}

func TestSignalLifecycle(t *testing.T) {
	g := sample.New(7)
	m, f := wmo301(t, g, "0363")
	bsn := bsnOf(t, m.XML)
	now := time.Unix(int64(f.begin)*86400, 0).UTC()
	st := newMemStore()
	e := newEngine(t, st, now)
	require.NoError(t, e.Observe("WMO301", m.XML))

	_, err := e.Run(context.Background())
	require.ErrorIs(t, err, ErrNoRegister)

	ingang := f.begin.String()
	steps := []struct {
		name   string
		reg    []string
		kind   string
		status string
	}{
		{"not in register: nothing", nil, "", ""},
		{"nee without earlier ja: nothing", []string{bsn + ",nee,2025-01-01," + ingang + ","}, "", ""},
		{"gained", []string{bsn + ",ja,2025-01-01," + ingang + ","}, "gewonnen", "ja"},
		{"rerun without change: nothing", []string{bsn + ",ja,2025-01-01," + ingang + ","}, "", ""},
		{"status to onbekend", []string{bsn + ",onbekend,2025-01-01," + ingang + ","}, "gewijzigd", "onbekend"},
		{"einddatum set", []string{bsn + ",onbekend,2025-01-01," + ingang + ",2099-01-01"}, "gewijzigd", "onbekend"},
		{"lost by nee", []string{bsn + ",nee,2025-01-01," + ingang + ",2099-01-01"}, "verloren", "nee"},
		{"gained again", []string{bsn + ",ja,2025-02-01," + ingang + ","}, "gewonnen", "ja"},
		{"lost by leaving the register", nil, "verloren", "nee"},
	}
	schema := signalSchema(t)
	for _, s := range steps {
		before := st.count()
		e.Import(register(t, s.reg...))
		sum, err := e.Run(context.Background())
		require.NoError(t, err, s.name)
		if s.kind == "" {
			assert.Zero(t, sum.Signals, s.name)
			assert.Equal(t, before, st.count(), s.name)
			continue
		}
		require.Equal(t, 1, sum.Signals, s.name)
		require.Equal(t, before+1, st.count(), s.name)
		msg := st.all[len(st.all)-1]
		assert.Equal(t, Berichtsoort, msg.Soort)
		assert.Equal(t, "swv-0363", msg.Recipient, "the samenwerkingsverband's mailbox")
		body := string(msg.Body)
		assert.Contains(t, body, "<Soort>"+s.kind+"</Soort>", s.name)
		assert.Contains(t, body, "<WlzStatus>"+s.status+"</WlzStatus>", s.name)
		assert.Contains(t, body, "<Bsn>"+bsn+"</Bsn>", s.name)
		assert.Contains(t, body, fmt.Sprintf("<ToewijzingNummer>%d</ToewijzingNummer>", f.nummer), s.name)
		assert.NoError(t, schema.Validate(msg.Body), "%s: valid against docs/wlz-signaal.xsd:\n%s", s.name, body)
	}
}

func signalSchema(t *testing.T) *xsd.Schema {
	s, err := xsd.CompileFile("../docs/wlz-signaal.xsd")
	require.NoError(t, err, "docs/wlz-signaal.xsd compiles")
	t.Cleanup(func() { s.Close() })
	return s
}

func TestRerunAfterCrashSendsNothingTwice(t *testing.T) {
	g := sample.New(11)
	m, f := wmo301(t, g, "0599")
	bsn := bsnOf(t, m.XML)
	now := time.Unix(int64(f.begin)*86400, 0).UTC()
	st := newMemStore()
	reg := register(t, bsn+",ja,2025-01-01,"+f.begin.String()+",")
	for i := 0; i < 2; i++ { // the second engine knows nothing of the first
		e := newEngine(t, st, now.AddDate(0, 0, i))
		require.NoError(t, e.Observe("WMO301", m.XML))
		e.Import(reg)
		sum, err := e.Run(context.Background())
		require.NoError(t, err)
		assert.Equal(t, 1-i, sum.Signals)
		assert.Equal(t, i, sum.AlreadySent)
	}
	assert.Equal(t, 1, st.count())
}

func TestFailedPutIsRetried(t *testing.T) {
	g := sample.New(12)
	m, f := wmo301(t, g, "0599")
	st := newMemStore()
	e := newEngine(t, st, time.Unix(int64(f.begin)*86400, 0).UTC())
	require.NoError(t, e.Observe("WMO301", m.XML))
	e.Import(register(t, bsnOf(t, m.XML)+",ja,2025-01-01,"+f.begin.String()+","))
	st.fail = errors.New("disk full")
	_, err := e.Run(context.Background())
	require.Error(t, err)
	assert.NotContains(t, err.Error(), bsnOf(t, m.XML))
	st.fail = nil
	sum, err := e.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 1, sum.Signals)
}

func TestEndedToewijzingIsNotMatched(t *testing.T) {
	g := sample.New(3)
	msgs, err := g.Traject(bericht.IWmo, sample.TrajectOptions{})
	require.NoError(t, err)
	var stop day
	var bsn string
	e := newEngine(t, newMemStore(), time.Now())
	for _, m := range msgs {
		require.NoError(t, e.Observe(m.Soort.Name, m.XML))
		if m.Soort.Name == "WMO307" {
			p, err := parseMessage("WMO307", m.XML)
			require.NoError(t, err)
			stop, bsn = p.facts[0].einde, bsnOf(t, m.XML)
		}
	}
	require.NotZero(t, stop)
	reg := register(t, bsn+",ja,2020-01-01,2020-01-01,")
	for _, tc := range []struct {
		at   day
		want int
	}{{stop + 1, 0}, {stop, 1}} { // after the 307's Einddatum: ended
		e.cfg.Now = func() time.Time { return time.Unix(int64(tc.at)*86400, 0).UTC() }
		e.Import(reg)
		sum, err := e.Run(context.Background())
		require.NoError(t, err)
		assert.Equal(t, tc.want, sum.Signals, "on %s", tc.at)
	}
}

// TestJeugdNeverSignalled feeds a year's worth of iJw traffic for persons
// that all have a Wlz indicatie: no JW message may ever yield a signal.
func TestJeugdNeverSignalled(t *testing.T) {
	g := sample.New(5)
	st := newMemStore()
	e := newEngine(t, st, time.Now())
	var lines []string
	seen := map[string]bool{}
	for i := 0; i < 30; i++ {
		msgs, err := g.Traject(bericht.IJw, sample.TrajectOptions{})
		require.NoError(t, err)
		for _, m := range msgs {
			require.NoError(t, e.Observe(m.Soort.Name, m.XML))
			if b := bsnRe.FindSubmatch(m.XML); b != nil && !seen[string(b[1])] {
				seen[string(b[1])] = true
				lines = append(lines, string(b[1])+",ja,2000-01-01,2000-01-01,")
			}
		}
		for _, name := range []string{"JW301", "JW307"} {
			m, err := g.Heen(soort(t, name), sample.Options{})
			require.NoError(t, err)
			require.NoError(t, e.Observe(name, m.XML))
			if b := string(bsnRe.FindSubmatch(m.XML)[1]); !seen[b] {
				seen[b] = true
				lines = append(lines, b+",ja,2000-01-01,2000-01-01,")
			}
		}
	}
	require.NotEmpty(t, lines)
	e.Import(register(t, lines...))
	for _, day := range []time.Time{time.Now(), time.Now().AddDate(0, -6, 0)} {
		e.cfg.Now = func() time.Time { return day }
		sum, err := e.Run(context.Background())
		require.NoError(t, err)
		assert.Zero(t, sum.Signals)
		assert.Zero(t, sum.Active)
	}
	assert.Zero(t, st.count())
	assert.Empty(t, e.tw, "no toewijzing learned from iJw")
}

func TestNextRun(t *testing.T) {
	e, err := New(Config{Store: newMemStore(), RunAt: "03:30", Location: time.UTC})
	require.NoError(t, err)
	tests := []struct{ now, want string }{
		{"2026-03-01T01:00:00Z", "2026-03-01T03:30:00Z"},
		{"2026-03-01T03:30:00Z", "2026-03-02T03:30:00Z"},
		{"2026-12-31T23:00:00Z", "2027-01-01T03:30:00Z"},
	}
	for _, tt := range tests {
		now, _ := time.Parse(time.RFC3339, tt.now)
		assert.Equal(t, tt.want, e.nextRun(now).Format(time.RFC3339))
	}
	_, err = New(Config{Store: newMemStore(), RunAt: "25:00"})
	assert.Error(t, err)
}

func FuzzParseRegister(f *testing.F) {
	f.Add(RegisterHeader + "\n123456782,ja,2026-01-02,2026-02-01,\n")
	f.Add(RegisterHeader + "\n\"12345\n6782\",ja,2026-01-02,2026-02-01,x\n")
	f.Fuzz(func(t *testing.T, s string) {
		reg, err := ParseRegister(strings.NewReader(s))
		if err == nil {
			for bsn, e := range reg {
				_, ok := parseBSN(formatBSN(bsn))
				require.True(t, ok)
				require.True(t, e.Einde == 0 || e.Einde >= e.Ingang)
			}
		}
	})
}

func FuzzParseMessage(f *testing.F) {
	g := sample.New(1)
	for _, name := range []string{"WMO301", "WMO307"} {
		m, err := g.Heen(soort(f, name), sample.Options{})
		require.NoError(f, err)
		f.Add(name == "WMO307", m.XML)
	}
	f.Fuzz(func(t *testing.T, stop bool, body []byte) {
		s := "WMO301"
		if stop {
			s = "WMO307"
		}
		p, err := parseMessage(s, body)
		if err == nil {
			require.NotEmpty(t, p.gemeente)
			require.NotZero(t, p.bsn)
			require.NotEmpty(t, p.facts)
		}
	})
}

func TestStateSurvivesRestart(t *testing.T) {
	g := sample.New(13)
	m, f := wmo301(t, g, "0363")
	bsn := bsnOf(t, m.XML)
	now := time.Unix(int64(f.begin)*86400, 0).UTC()
	st := newMemStore()
	e := newEngine(t, st, now)
	require.NoError(t, e.Observe("WMO301", m.XML))
	e.Import(register(t, bsn+",ja,2025-01-01,"+f.begin.String()+","))
	sum, err := e.Run(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, sum.Signals)
	path := t.TempDir() + "/samenloop.gob"
	require.NoError(t, e.SaveFile(path))

	// A fresh engine on another store: only the saved state can tell it
	// the toewijzing, the register and what was signalled.
	other := newMemStore()
	e2 := newEngine(t, other, now)
	require.NoError(t, e2.LoadFile(path))
	v := e2.Version()
	sum, err = e2.Run(context.Background())
	require.NoError(t, err)
	assert.Zero(t, sum.Signals, "already told")
	assert.Equal(t, v, e2.Version(), "a run that sends nothing changes nothing to save")
	assert.Equal(t, 1, sum.Active)
	assert.Equal(t, 1, sum.Register)
	e2.Import(register(t, bsn+",nee,2025-01-01,"+f.begin.String()+","))
	sum, err = e2.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 1, sum.Lost)

	require.NoError(t, newEngine(t, st, now).LoadFile(t.TempDir()+"/none"), "no file: empty engine")
	require.NoError(t, os.WriteFile(path, []byte("garbage"), 0o600))
	assert.ErrorIs(t, e2.LoadFile(path), ErrState)
}

// TestNumberReusedForAnotherClient: a ToewijzingNummer that a later 301 of
// the same gemeente gives to another client belongs to that client only.
func TestNumberReusedForAnotherClient(t *testing.T) {
	g := sample.New(17)
	m1, f1 := wmo301(t, g, "0363")
	var m2 *sample.Message
	for m2 == nil || bsnOf(t, m2.XML) == bsnOf(t, m1.XML) {
		m2, _ = wmo301(t, g, "0363")
	}
	// Give m2's toewijzing m1's number.
	p2, err := parseMessage("WMO301", m2.XML)
	require.NoError(t, err)
	body := strings.Replace(string(m2.XML), fmt.Sprintf("ToewijzingNummer>%d<", p2.facts[0].nummer), fmt.Sprintf("ToewijzingNummer>%d<", f1.nummer), 1)
	e := newEngine(t, newMemStore(), time.Unix(int64(f1.begin)*86400, 0).UTC())
	require.NoError(t, e.Observe("WMO301", m1.XML))
	require.NoError(t, e.Observe("WMO301", []byte(body)))
	e.Import(register(t, bsnOf(t, m1.XML)+",ja,2000-01-01,2000-01-01,"))
	e.cfg.Now = func() time.Time { return time.Unix(int64(p2.facts[0].begin)*86400, 0).UTC() }
	sum, err := e.Run(context.Background())
	require.NoError(t, err)
	assert.Zero(t, sum.Signals, "the first client no longer holds the toewijzing")
	assert.Equal(t, 1, sum.Active)
}

func TestStartClose(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	e, err := New(Config{Store: newMemStore()})
	require.NoError(t, err)
	e.Start()
	e.Start() // once
	require.NoError(t, e.Close())
	require.NoError(t, e.Close(), "twice is safe")
	idle, err := New(Config{Store: newMemStore()})
	require.NoError(t, err)
	require.NoError(t, idle.Close(), "without Start")
}
