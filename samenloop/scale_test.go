package samenloop

import (
	"context"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/store"
)

// countStore accepts every signal and only counts them: the comparison's
// own cost, without the store's fsyncs.
type countStore struct{ n atomic.Int64 }

func (c *countStore) Put(context.Context, *store.Message) (store.Receipt, error) {
	c.n.Add(1)
	return store.Receipt{}, nil
}

// elfproef returns the n-th valid BSN at or after start.
func nextBSN(n uint32) uint32 {
	for {
		if _, ok := parseBSN(formatBSN(n)); ok {
			return n
		}
		n++
	}
}

// scaleEngine fills an engine with toewijzingen active toewijzingen spread
// over 3/5 as many persons, and a register of persons persons, half of them
// holders of a toewijzing and a third of those with a Wlz indicatie.
func scaleEngine(tb testing.TB, toewijzingen, persons int, st Putter, today day) (*Engine, Register) {
	e, err := New(Config{Store: st, Location: time.UTC, Workers: 4,
		Now: func() time.Time { return time.Unix(int64(today)*86400, 0).UTC() }})
	require.NoError(tb, err)
	r := rand.New(rand.NewPCG(1, 2))
	people := toewijzingen * 3 / 5
	bsns := make([]uint32, people)
	b := uint32(100000000)
	for i := range bsns {
		b = nextBSN(b + 1 + uint32(r.IntN(200)))
		bsns[i] = b
	}
	gemeenten := make([]string, 340)
	for i := range gemeenten {
		gemeenten[i] = strconv.Itoa(1000 + i)
	}
	for i := 0; i < toewijzingen; i++ {
		bsn := bsns[r.IntN(people)]
		k := twKey{gemeente: gemeenten[bsn%340], nummer: uint32(i + 1)}
		e.tw[k] = &toewijzing{bsn: bsn, product: "0" + strconv.Itoa(1+r.IntN(9)) + "/A" + strconv.Itoa(r.IntN(99)),
			begin: today - day(r.IntN(700)), einde: today + day(1+r.IntN(700))}
		e.byBSN[bsn] = append(e.byBSN[bsn], k)
	}
	reg := make(Register, persons)
	for i := 0; len(reg) < persons; i++ {
		var bsn uint32
		if i%2 == 0 {
			bsn = bsns[r.IntN(people)]
		} else {
			b = nextBSN(b + 1)
			bsn = b
		}
		st := []Status{StatusJa, StatusNee, StatusOnbekend}[r.IntN(3)]
		reg[bsn] = Entry{BSN: bsn, Status: st, Afgifte: today - 400, Ingang: today - day(r.IntN(300))}
	}
	return e, reg
}

// TestScale is the scale requirement: a 300,000-person register
// against 1,000,000 active toewijzingen in under 30 s with RSS under 1 GB.
// It takes a while to build, so it runs with SAMENLOOP_SCALE=1; the default
// run compares a tenth of it.
func TestScale(t *testing.T) {
	tw, persons := 100_000, 30_000
	if os.Getenv("SAMENLOOP_SCALE") != "" {
		tw, persons = 1_000_000, 300_000
	}
	today := dayOf(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
	st := &countStore{}
	e, reg := scaleEngine(t, tw, persons, st, today)
	e.Import(reg)
	start := time.Now()
	sum, err := e.Run(context.Background())
	took := time.Since(start)
	require.NoError(t, err)
	assert.Equal(t, tw, sum.Active)
	assert.Positive(t, sum.Signals)
	assert.Equal(t, int64(sum.Signals), st.n.Load())
	start2 := time.Now()
	again, err := e.Run(context.Background())
	require.NoError(t, err)
	assert.Zero(t, again.Signals, "rerun without changes sends nothing")
	runtime.KeepAlive(e)
	t.Logf("register %d × toewijzingen %d: %d signals in %v, rerun %v, peak RSS %s",
		persons, tw, sum.Signals, took, time.Since(start2), peakRSS())
}

// peakRSS reads VmHWM from /proc (Linux); "?" elsewhere.
func peakRSS() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "?"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			return strings.TrimSpace(strings.TrimPrefix(l, "VmHWM:"))
		}
	}
	return "?"
}

// BenchmarkRun measures a first comparison (every change signalled) of a
// 30,000-person register against 100,000 toewijzingen.
func BenchmarkRun(b *testing.B) {
	today := dayOf(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
	e, reg := scaleEngine(b, 100_000, 30_000, &countStore{}, today)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e.sent = map[sigKey]Entry{}
		e.Import(reg)
		if _, err := e.Run(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}
