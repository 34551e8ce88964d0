package gateway

import (
	"math"
	"testing"
	"time"
)

// FuzzLimiter drives the per-principal limiter with arbitrary limits and
// sequences of acquire/release at arbitrary (also backwards) times: it
// never admits more than Concurrent at once, never more than the bucket
// allows, refuses only with a 429 code and a positive Retry-After, and
// never panics.
func FuzzLimiter(f *testing.F) {
	f.Add(1.0, 2, 3, []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Add(50.0, 200, 16, []byte("\x00\x00\x00\x00\x80\x80\xff"))
	f.Add(-1.0, 0, -1, []byte{1, 1, 1})
	f.Add(1e-9, 1, 1, []byte{0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, rate float64, burst, concurrent int, ops []byte) {
		if math.IsNaN(rate) || math.IsInf(rate, 0) || rate > 1e6 || (rate > 0 && rate < 1e-6) {
			return // not a configuration: Config documents requests per second
		}
		burst, concurrent = burst%1000, concurrent%100
		l := newLimiter(Limits{Rate: rate, Burst: burst, Concurrent: concurrent, MaxPrincipals: 3})
		cfg := l.cfg
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		inFlight := map[string]int{}
		for i, op := range ops {
			id := string(rune('a' + op%4))
			switch op >> 6 {
			case 0, 1: // acquire
				retry, err := l.acquire(id, now)
				if err != nil {
					e := asError(err)
					if e.Kind.Status() != 429 || (e.Code != CodeRateLimited && e.Code != CodeTooManyConcurrent) || retry < 1 {
						t.Fatalf("op %d: refusal %d %s retry %d", i, e.Kind.Status(), e.Code, retry)
					}
					continue
				}
				inFlight[id]++
				if b := l.by[id]; cfg.Concurrent > 0 && b.inFlight > cfg.Concurrent {
					t.Fatalf("op %d: %d in flight above %d", i, b.inFlight, cfg.Concurrent)
				}
				if b := l.by[id]; cfg.Rate > 0 && b.tokens < 0 {
					t.Fatalf("op %d: bucket below zero: %g", i, b.tokens)
				}
			case 2: // release
				if inFlight[id] > 0 {
					inFlight[id]--
					l.release(id)
				}
			case 3: // time moves, also backwards
				now = now.Add(time.Duration(int8(op<<2)) * 50 * time.Millisecond)
			}
			for id, b := range l.by {
				if b.inFlight < 0 {
					t.Fatalf("op %d: %s has %d in flight", i, id, b.inFlight)
				}
			}
			if len(l.by) > cfg.MaxPrincipals {
				t.Fatalf("op %d: %d principals tracked above %d", i, len(l.by), cfg.MaxPrincipals)
			}
		}
	})
}
