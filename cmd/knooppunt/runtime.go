package main

import (
	"os"
	"runtime"
	"runtime/debug"
	"sync"
)

// The switch's live heap is small (tens of MB: the registry, the schemas'
// Go side, the information products' aggregates) while every message
// allocates its body, its document tree and its answer, so at Go's default
// GOGC=100 the collector runs every few thousand messages and takes a
// noticeable share of both cores. serveGCPercent lets the heap grow to five
// times the live data between collections; serveMemoryLimit is the soft
// ceiling at which the collector runs anyway, so a larger live heap (a big
// Wlz register copy) does not grow RSS without bound. See
// docs/performance.md for the measurement.
const (
	serveGCPercent   = 400
	serveMemoryLimit = 1 << 30
)

// serveExtraProcs is how many Ps the scheduler gets beyond Go's own choice
// (one per core). With one per core, the Ps are often all held by
// goroutines that do not let go soon: one in an fsync (the store's commit,
// the audit trail's), one in libxml2, one in a Pebble compaction, which
// the scheduler preempts only after 10 ms. A request that its commit has
// just released then waits while a core idles. Four more let the kernel
// share the cores among them instead: on two cores ingest went from 5,492
// to 7,319 msgs/s with 6 Ps, p99 from 29 to 18 ms (docs/performance.md).
// The extra Ps are a constant, not a factor, so that the collector's
// share (a quarter of the Ps) stays near a quarter of the cores on a large
// machine.
const serveExtraProcs = 4

// tuneRuntime applies serveGCPercent, serveMemoryLimit and serveExtraProcs
// unless the operator set GOGC, GOMEMLIMIT or GOMAXPROCS, which always win.
// A second call changes nothing more.
func tuneRuntime() { tuneOnce.Do(tune) }

var tuneOnce sync.Once

func tune() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(serveGCPercent)
	}
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		debug.SetMemoryLimit(serveMemoryLimit)
	}
	if _, set := os.LookupEnv("GOMAXPROCS"); !set {
		runtime.GOMAXPROCS(runtime.GOMAXPROCS(0) + serveExtraProcs)
	}
}
