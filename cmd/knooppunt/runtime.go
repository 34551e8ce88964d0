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
// (one per core). With one per core, ingest left about a quarter of two
// cores idle: a request that its commit had just released often waited for
// a P while the Ps were held by goroutines that give them up late. A
// goroutine in an fsync (the store's commit, the audit trail's) or in
// libxml2 keeps its P until the scheduler's monitor takes it back, and a
// Pebble compaction keeps its P until it is preempted after 10 ms. With
// more Ps the kernel shares the cores among them: on two cores ingest went
// from 6,580 to 8,088 msgs/s, p99 from 31.5 to 17.8 ms (docs/performance.md).
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
