package monitor

import (
	"context"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/delivery"
	"github.com/knooppunt/knooppunt/store"
	"github.com/knooppunt/knooppunt/store/pebble"
)

func TestQuantile(t *testing.T) {
	b := []bucket{{0.001, 10}, {0.01, 90}, {0.1, 100}, {math.Inf(1), 100}}
	assert.InDelta(t, 0.0055, quantile(0.5, b), 1e-12)
	assert.InDelta(t, 0.091, quantile(0.99, b), 1e-12)
	assert.InDelta(t, 0.0001, quantile(0.1, b[:1]), 1e-12, "within the first bucket, from 0")
	assert.Equal(t, -1.0, quantile(0.5, nil))
	assert.Equal(t, -1.0, quantile(0.5, []bucket{{0.1, 0}, {math.Inf(1), 0}}))
	assert.Equal(t, 0.1, quantile(0.99, []bucket{{0.1, 1}, {math.Inf(1), 10}}), "beyond the last bound: that bound")
}

// TestRingWindow: a ring shows its buckets oldest first, leaves a gap for a
// bucket nothing was sampled in, and reuses the slot of a bucket that fell
// out of the range.
func TestRingWindow(t *testing.T) {
	r := newRing(Span{Width: time.Minute, Buckets: 3})
	t0 := time.Unix(1_800_000_000-1_800_000_000%60, 0)
	r.add(t0, map[string]float64{"a": 1}, map[string]float64{"g": 5})
	r.add(t0.Add(59*time.Second), map[string]float64{"a": 2}, map[string]float64{"g": 6})
	starts, slots := r.window(t0.Add(59 * time.Second))
	require.Len(t, starts, 3)
	assert.Equal(t, 6.0, r.Values["g"][slots[2]], "a gauge keeps its last value")
	assert.Equal(t, 3.0, r.Values["a"][slots[2]], "counters add up")
	r.add(t0.Add(time.Minute), map[string]float64{"a": 4}, nil)
	r.add(t0.Add(3*time.Minute), map[string]float64{"a": 8}, nil) // t0's slot again

	starts, slots = r.window(t0.Add(3*time.Minute + 30*time.Second))
	require.Len(t, starts, 3)
	assert.Equal(t, []time.Time{t0.Add(time.Minute), t0.Add(2 * time.Minute), t0.Add(3 * time.Minute)}, starts)
	require.Equal(t, -1, slots[1], "nothing sampled in the middle minute")
	assert.Equal(t, 4.0, r.Values["a"][slots[0]])
	assert.Equal(t, 8.0, r.Values["a"][slots[2]], "t0's 3 were emptied when the slot was reused")
	assert.Equal(t, 0.0, r.Values["g"][slots[2]])
}

func TestIncreases(t *testing.T) {
	assert.Equal(t, map[string]float64{"a": 5, "b": 2, "c": 0}, increases(map[string]float64{"a": 10, "c": 4}, map[string]float64{"a": 15, "b": 2, "c": 4}))
	assert.Equal(t, map[string]float64{"a": 3}, increases(map[string]float64{"a": 10}, map[string]float64{"a": 3}), "a restart resets the counter")
}

// metricsOf registers the series the monitor reads under their real names.
type metricsOf struct {
	reg                 *prometheus.Registry
	berichten, requests *prometheus.CounterVec
	duration            *prometheus.HistogramVec
}

func newMetrics(t *testing.T) *metricsOf {
	m := &metricsOf{reg: prometheus.NewRegistry(),
		berichten: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "knooppunt_gateway_berichten_total"}, []string{"berichtsoort", "outcome"}),
		requests:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: "knooppunt_http_requests_total"}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "knooppunt_http_request_duration_seconds",
			Buckets: []float64{.001, .01, .1, 1}}, []string{"route"}),
	}
	m.reg.MustRegister(m.berichten, m.requests, m.duration)
	return m
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func get(t *testing.T, h http.Handler, target string) (int, string) {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	b, _ := io.ReadAll(rec.Body)
	return rec.Code, string(b)
}

var tileRe = regexp.MustCompile(`id="tile-([a-z0-9-]+)">[^<]*<b>([^<]*)</b>`)

func tiles(page string) map[string]string {
	out := map[string]string{}
	for _, m := range tileRe.FindAllStringSubmatch(page, -1) {
		out[m[1]] = m[2]
	}
	return out
}

// TestPage: the page shows what the metrics and the store say, over the
// range asked for, and the history survives a restart of the process
// without counting anything twice.
func TestPage(t *testing.T) {
	ctx := context.Background()
	ams, err := time.LoadLocation("Europe/Amsterdam")
	require.NoError(t, err)
	clk := &clock{t: time.Date(2026, 12, 7, 14, 3, 0, 0, ams)}
	st, err := pebble.Open(ctx, pebble.Config{Dir: filepath.Join(t.TempDir(), "data"), Now: clk.now})
	require.NoError(t, err)
	defer st.Close()
	for i, to := range []string{"42420001", "42420001", "65656055"} {
		_, err := st.Put(ctx, &store.Message{Soort: "WMO301", Sender: "0384", Recipient: to,
			Identificatie: "id" + string(rune('a'+i)), Body: []byte("<Bericht/>")})
		require.NoError(t, err)
		clk.add(time.Second)
	}
	_, err = st.List(ctx, "65656055", 1)
	require.NoError(t, err)

	file := filepath.Join(t.TempDir(), "monitor.json")
	parties := func() []Party {
		return []Party{{"0384", "Gemeente Diemen"}, {"42420001", "Aanbieder een"}, {"65656055", "Aanbieder twee"}}
	}
	push := func() []delivery.EndpointHealth {
		return []delivery.EndpointHealth{{Party: "0344", URL: "https://g.example/stuf", Failures: 3, BreakerOpen: true, OpenUntil: clk.now().Add(time.Minute)}}
	}
	start := func(m *metricsOf) *Monitor {
		mon, err := New(Config{Gatherer: m.reg, Store: st, Parties: parties, Push: push, File: file, Location: ams, Now: clk.now})
		require.NoError(t, err)
		return mon
	}

	m := newMetrics(t)
	mon := start(m)
	m.berichten.WithLabelValues("WMO301", "stored").Add(7)
	m.berichten.WithLabelValues("WMO301", "duplicate").Add(1)
	m.requests.WithLabelValues("/v1/berichten", "stored").Add(7)
	m.requests.WithLabelValues("/v1/berichten", "duplicate").Add(1)
	m.requests.WithLabelValues("/v1/berichten", "xsd-invalid").Add(2)
	m.requests.WithLabelValues("/v1/mailbox", "rate-limited").Add(3)
	for i := 0; i < 90; i++ {
		m.duration.WithLabelValues("/v1/berichten").Observe(0.005)
	}
	for i := 0; i < 10; i++ {
		m.duration.WithLabelValues("/v1/berichten").Observe(0.5)
	}
	m.duration.WithLabelValues("/metrics").Observe(5) // not the API's

	status, page := get(t, mon, "/operations")
	require.Equal(t, http.StatusOK, status)
	tl := tiles(page)
	assert.Equal(t, "7", tl["opgeslagen"])
	assert.Equal(t, "5", tl["geweigerd"])
	assert.Equal(t, "6,0 ms", tl["p50"], "between the 1 and 10 ms bounds")
	assert.Equal(t, "910 ms", tl["p99"])
	assert.Equal(t, "3", tl["open"])
	assert.Contains(t, page, "<tr><td>rate-limited</td><td>3</td></tr>")
	assert.Contains(t, page, "<tr><td>xsd-invalid</td><td>2</td></tr>")
	assert.NotContains(t, page, "<td>ok</td>")
	assert.Contains(t, page, `<tr><td>42420001</td><td class="l">Aanbieder een</td><td>2</td><td>0</td><td>7 december 2026 14:03</td>`)
	assert.Contains(t, page, `<tr><td>65656055</td><td class="l">Aanbieder twee</td><td>1</td><td>1</td>`)
	assert.Contains(t, page, "2 mailboxen met open berichten")
	assert.Contains(t, page, "onderbroken tot 7 december 2026 14:04")
	assert.Contains(t, page, `<meta http-equiv="refresh" content="30">`)
	assert.NotContains(t, page, "<script")

	// A later sample adds only what happened since.
	clk.add(10 * time.Second)
	m.berichten.WithLabelValues("WMO301", "stored").Add(2)
	mon.sample()
	clk.add(50 * time.Second)
	_, page = get(t, mon, "/operations")
	assert.Equal(t, "9", tiles(page)["opgeslagen"])
	_, page = get(t, mon, "/operations?periode=12weken")
	assert.Equal(t, "9", tiles(page)["opgeslagen"], "the same traffic over 12 weeks")
	assert.Contains(t, page, "de laatste 12 weken")

	// A restart: the history is kept, the new process's counters start at
	// zero and count from there.
	require.NoError(t, mon.Close())
	require.NoError(t, mon.Close(), "Close is safe twice")
	_, err = os.Stat(file)
	require.NoError(t, err)
	m = newMetrics(t)
	mon = start(m)
	m.berichten.WithLabelValues("WMO301", "stored").Add(4)
	_, page = get(t, mon, "/operations")
	assert.Equal(t, "13", tiles(page)["opgeslagen"])
	assert.Equal(t, "5", tiles(page)["geweigerd"])

	// Past the hour, the hour's range is empty and the day's is not.
	clk.add(2 * time.Hour)
	_, page = get(t, mon, "/operations")
	assert.Equal(t, "0", tiles(page)["opgeslagen"])
	_, page = get(t, mon, "/operations?periode=dag")
	assert.Equal(t, "13", tiles(page)["opgeslagen"])

	status, _ = get(t, mon, "/operations?periode=jaar")
	assert.Equal(t, http.StatusBadRequest, status)
	require.NoError(t, mon.Close())
}

// TestRunSavesOnStop: Run samples and keeps the history when it stops.
func TestRunSavesOnStop(t *testing.T) {
	st, err := pebble.Open(context.Background(), pebble.Config{Dir: filepath.Join(t.TempDir(), "data")})
	require.NoError(t, err)
	defer st.Close()
	m := newMetrics(t)
	m.berichten.WithLabelValues("WMO301", "stored").Add(3)
	file := filepath.Join(t.TempDir(), "monitor.json")
	mon, err := New(Config{Gatherer: m.reg, Store: st, Parties: func() []Party { return nil }, File: file})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mon.Run(ctx) }()
	cancel()
	require.NoError(t, <-done)
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	assert.True(t, strings.Contains(string(b), `"stored"`), "the first sample is saved")
}
