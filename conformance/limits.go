package conformance

import "github.com/knooppunt/knooppunt/gateway"

// DefaultParallel is how many cases a run has under way at once unless
// Config.Parallel says otherwise.
const DefaultParallel = 4

// SwitchLimits are the per-caller limits a switch must allow for a run
// with parallel cases at once, and the limits the in-process switch of a
// run is started with. The limits stay on, sized so that the suite's own
// traffic never meets them:
//   - every case acts as the same few dev parties, and a whole run makes
//     a few hundred requests per party (about 300 at most today), so a
//     burst of 10,000 never runs dry, however fast the cases go;
//   - a case makes one request at a time, so one party has at most
//     parallel requests of the runner in flight; the bound allows four
//     times that, since the switch counts a request as finished only
//     after its answer has left.
//
// A 429 that still comes is waited out (Config.MaxLimitWait) and reported,
// so it can slow a run but never change its verdict.
func SwitchLimits(parallel int) gateway.Limits {
	if parallel <= 0 {
		parallel = DefaultParallel
	}
	return gateway.Limits{Rate: 1000, Burst: 10_000, Concurrent: 4 * parallel}
}
