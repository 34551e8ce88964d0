package delivery_test

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/delivery"
	"github.com/knooppunt/knooppunt/sample"
)

// clock is a settable Config.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestHealth: every configured endpoint is listed, before its worker runs
// too; one that accepts has a last delivery and no failures, one that
// answers 500 counts its failures until its breaker opens, and the breaker
// reads closed once its cooldown has passed on the Pusher's clock.
func TestHealth(t *testing.T) {
	const down = "42420002"
	st := openStore(t, t.TempDir())
	defer st.Close()
	g := sample.New(15)
	put(t, st, g, "JW301", gemeente, aanbieder, 2)
	put(t, st, g, "JW301", gemeente, down, 1)
	okSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	defer okSrv.Close()
	downSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusInternalServerError)
	}))
	defer downSrv.Close()

	clk := &clock{t: time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)}
	cfg := fast(st, newRegistry(
		delivery.Endpoint{Party: down, URL: downSrv.URL, Kind: delivery.KindREST},
		delivery.Endpoint{Party: aanbieder, URL: okSrv.URL, Kind: delivery.KindREST}))
	cfg.Now = clk.now
	cfg.BreakerCooldown = time.Hour // once open, it stays open until the clock moves
	p, err := delivery.New(cfg)
	require.NoError(t, err)

	assert.Equal(t, []delivery.EndpointHealth{
		{Party: aanbieder, URL: okSrv.URL},
		{Party: down, URL: downSrv.URL},
	}, p.Health(), "listed before any worker runs, ordered by party")

	stop := run(t, p)
	byParty := func() map[string]delivery.EndpointHealth {
		m := map[string]delivery.EndpointHealth{}
		for _, h := range p.Health() {
			m[h.Party] = h
		}
		return m
	}
	require.Eventually(t, func() bool {
		h := byParty()
		return st.Stats().Acks == 2 && h[down].BreakerOpen
	}, 10*time.Second, time.Millisecond)

	h := byParty()
	start := clk.now()
	assert.Equal(t, delivery.EndpointHealth{Party: aanbieder, URL: okSrv.URL, LastDelivery: start}, h[aanbieder])
	assert.Equal(t, delivery.EndpointHealth{
		Party: down, URL: downSrv.URL,
		Failures:    cfg.BreakerThreshold,
		BreakerOpen: true, OpenUntil: start.Add(time.Hour),
		LastFailure: start,
	}, h[down], "the breaker opened after BreakerThreshold failures and holds off further attempts")

	clk.advance(time.Hour + time.Second)
	h = byParty()
	assert.False(t, h[down].BreakerOpen, "the cooldown has passed")
	assert.True(t, h[down].OpenUntil.IsZero())
	assert.Equal(t, cfg.BreakerThreshold, h[down].Failures, "no delivery since")
	stop()
}
