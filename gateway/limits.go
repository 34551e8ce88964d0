package gateway

import (
	"math"
	"strconv"
	"sync"
	"time"
)

// Limits bound what one party can make the switch do, so that no caller —
// broken client or attacker with a valid certificate — can starve the
// others. Request size, header size and timeouts are in Config.
type Limits struct {
	// Rate is the sustained requests per second one principal may make;
	// Burst how many it may make at once above that. Beyond them the
	// answer is 429 with Retry-After. Defaults 50/s and 200; a negative
	// Rate means no rate limit.
	Rate  float64
	Burst int
	// Concurrent bounds the requests of one principal in flight at once;
	// one more is answered 429 at once. Default 16; negative: no bound.
	Concurrent int
	// MaxPrincipals bounds the principals tracked; the table is cleared
	// when it is full (only authenticated principals enter it, so its size
	// follows the registry, not the input). Default 100 000.
	MaxPrincipals int
}

// Limit codes of refusals (429).
const (
	// CodeRateLimited: the principal exceeded its request rate.
	CodeRateLimited = "rate-limited"
	// CodeTooManyConcurrent: the principal has too many requests in flight.
	CodeTooManyConcurrent = "too-many-concurrent-requests"
)

func (l Limits) withDefaults() Limits {
	if l.Rate == 0 {
		l.Rate = 50
	}
	if l.Burst == 0 {
		l.Burst = 200
	}
	if l.Concurrent == 0 {
		l.Concurrent = 16
	}
	if l.MaxPrincipals == 0 {
		l.MaxPrincipals = 100_000
	}
	return l
}

// limiter holds a token bucket and an in-flight count per principal.
type limiter struct {
	cfg Limits
	mu  sync.Mutex
	by  map[string]*bucket
}

type bucket struct {
	tokens   float64
	last     time.Time
	inFlight int
}

func newLimiter(l Limits) *limiter {
	return &limiter{cfg: l.withDefaults(), by: map[string]*bucket{}}
}

// acquire admits one request of principal id at now, or refuses it with
// a 429 error and the seconds after which a retry can succeed. A nil
// error must be paired with release.
func (l *limiter) acquire(id string, now time.Time) (retryAfter int, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.by[id]
	if b == nil {
		if len(l.by) >= l.cfg.MaxPrincipals {
			clear(l.by)
		}
		b = &bucket{tokens: float64(l.cfg.Burst), last: now}
		l.by[id] = b
	}
	if l.cfg.Concurrent > 0 && b.inFlight >= l.cfg.Concurrent {
		return 1, errorf(KindTooManyRequests, CodeTooManyConcurrent, "more than %d requests of %s in flight; retry when one has finished", l.cfg.Concurrent, id)
	}
	if l.cfg.Rate > 0 {
		if dt := now.Sub(b.last).Seconds(); dt > 0 {
			b.tokens = math.Min(float64(l.cfg.Burst), b.tokens+dt*l.cfg.Rate)
		}
		b.last = now
		if b.tokens < 1 {
			wait := int(math.Ceil((1 - b.tokens) / l.cfg.Rate))
			return max(wait, 1), errorf(KindTooManyRequests, CodeRateLimited, "more than %g requests per second of %s; retry after %d s", l.cfg.Rate, id, max(wait, 1))
		}
		b.tokens--
	}
	b.inFlight++
	return 0, nil
}

// release ends a request admitted by acquire.
func (l *limiter) release(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b := l.by[id]; b != nil && b.inFlight > 0 {
		b.inFlight--
	}
}

// retryAfterHeader formats a Retry-After value.
func retryAfterHeader(s int) string { return strconv.Itoa(s) }
