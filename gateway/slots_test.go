package gateway_test

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/gateway"
)

// gatedValidator is fakeValidator whose validations of messages from
// slowParty block until gate is closed or their context ends (or, with
// ignoreCtx, until gate only), counting those under way in running.
type gatedValidator struct {
	fakeValidator
	slowParty string
	gate      chan struct{}
	ignoreCtx bool
	running   *atomic.Int32
	entered   chan struct{}
}

func (v gatedValidator) Validate(ctx context.Context, b []byte) (bericht.Header, error) {
	h, err := v.fakeValidator.Validate(ctx, b)
	if err != nil || h.Afzender != v.slowParty {
		return h, err
	}
	v.running.Add(1)
	defer v.running.Add(-1)
	v.entered <- struct{}{}
	if v.ignoreCtx {
		<-v.gate
		return h, nil
	}
	select {
	case <-v.gate:
		return h, nil
	case <-ctx.Done():
		return h, ctx.Err()
	}
}

func newGated(slowParty string, ignoreCtx bool) gatedValidator {
	return gatedValidator{slowParty: slowParty, gate: make(chan struct{}), ignoreCtx: ignoreCtx,
		running: &atomic.Int32{}, entered: make(chan struct{}, 64)}
}

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// readyz fetches /readyz and its validation usage.
func (h *harness) readyz() (int, gateway.Health) {
	h.t.Helper()
	r := h.do(http.MethodGet, "/readyz", "", "", nil)
	var out gateway.Health
	if r.status == http.StatusOK {
		require.NoError(h.t, json.Unmarshal(r.body, &out))
	}
	return r.status, out
}

// TestValidationShareOfOneCaller: a caller whose validations hang holds at
// most its share of the slots; its further messages wait for one of its
// own, and another caller's message is validated meanwhile.
func TestValidationShareOfOneCaller(t *testing.T) {
	v := newGated("0384", false)
	h := newHarness(t, func(c *gateway.Config) {
		c.Validator = v
		c.MaxValidations, c.MaxValidationsPerCaller = 4, 2
		c.ValidationTimeout = time.Hour
	})
	var wg sync.WaitGroup
	statuses := make(chan int, 4)
	for i := range 4 {
		wg.Go(func() {
			statuses <- h.post("tok-0384", msg("WMO301", "0384", "42420001", "S"+string(rune('A'+i)))).status
		})
	}
	<-v.entered
	<-v.entered
	// Two of 0384's run and two wait for its own slots, though two of the
	// four slots are free: another caller gets one at once.
	require.Eventually(t, func() bool {
		_, ready := h.readyz()
		return ready.Validation != nil && ready.Validation.Waiting == 2
	}, 10*time.Second, 5*time.Millisecond)
	assert.EqualValues(t, 2, v.running.Load())
	r := h.post("tok-0363", msg("WMO301", "0363", "42420001", "OTHER"))
	require.Equal(t, http.StatusAccepted, r.status, string(r.body))
	assert.EqualValues(t, 2, v.running.Load(), "the other caller did not wait for 0384's")

	close(v.gate)
	wg.Wait()
	close(statuses)
	for s := range statuses {
		assert.Equal(t, http.StatusAccepted, s)
	}
	_, ready := h.readyz()
	require.NotNil(t, ready.Validation)
	assert.Zero(t, ready.Validation.Busy)
	assert.Zero(t, ready.Validation.Waiting)
}

// TestValidationDeadline: a validation past ValidationTimeout is abandoned
// and answered 503 validation-busy with Retry-After, and its slot comes
// back: the next message of the same caller is validated.
func TestValidationDeadline(t *testing.T) {
	v := newGated("0384", false)
	h := newHarness(t, func(c *gateway.Config) {
		c.Validator = v
		c.MaxValidations, c.MaxValidationsPerCaller = 1, 1
		c.ValidationTimeout = 50 * time.Millisecond
	})
	r := h.post("tok-0384", msg("WMO301", "0384", "42420001", "SLOW"))
	require.Equal(t, http.StatusServiceUnavailable, r.status, string(r.body))
	assert.Equal(t, "validation-busy", r.json(t)["code"])
	assert.NotEmpty(t, r.header.Get("Retry-After"))
	assert.Contains(t, string(h.do(http.MethodGet, "/metrics", "", "", nil).body), "knooppunt_validation_abandoned_total 1")

	r = h.post("tok-0363", msg("WMO301", "0363", "42420001", "NEXT"))
	require.Equal(t, http.StatusAccepted, r.status, "the only slot came back: %s", r.body)
}

// TestReadyzReportsStuckValidation: saturation alone keeps the node ready
// and is reported; every slot held past twice the deadline (a validator
// that does not stop) makes it unready until the slots come back.
func TestReadyzReportsStuckValidation(t *testing.T) {
	v := newGated("0384", true)
	clock := &fakeClock{t: time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)}
	h := newHarness(t, func(c *gateway.Config) {
		c.Validator = v
		c.MaxValidations, c.MaxValidationsPerCaller = 2, 2
		c.ValidationTimeout = time.Minute // the real deadline never comes in this test
		c.Now = clock.Now
	})
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() { h.post("tok-0384", msg("WMO301", "0384", "42420001", "STUCK"+string(rune('A'+i)))) })
	}
	<-v.entered
	<-v.entered
	status, ready := h.readyz()
	require.Equal(t, http.StatusOK, status)
	require.NotNil(t, ready.Validation)
	assert.True(t, ready.Validation.Saturated)
	assert.Equal(t, 2, ready.Validation.Busy)

	clock.Advance(3 * time.Minute)
	status, _ = h.readyz()
	assert.Equal(t, http.StatusServiceUnavailable, status, "every slot held for three times the deadline")

	close(v.gate)
	wg.Wait()
	status, _ = h.readyz()
	assert.Equal(t, http.StatusOK, status)
}
