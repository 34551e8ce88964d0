package main

import (
	"os"
	"runtime/debug"
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

// tuneGC applies serveGCPercent and serveMemoryLimit unless the operator
// set GOGC or GOMEMLIMIT, which always win.
func tuneGC() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(serveGCPercent)
	}
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		debug.SetMemoryLimit(serveMemoryLimit)
	}
}
