//go:build kparenadebug

package xsd

/*
#cgo CFLAGS: -DKP_ARENA_DEBUG
#include "shim.h"
*/
import "C"

// arenaCounts are the checks of a kparenadebug build (arena.c with
// KP_ARENA_DEBUG): freed blocks and chunks are poisoned, and a chunk
// handed out again must still hold its poison.
type arenaCounts struct {
	arenas      int // arenas not yet freed
	chunks      int // chunks held by arenas
	unfreed     int // blocks libxml2 had not freed when their arena was
	doubleFreed int // blocks freed or reallocated after being freed
	poison      int // free chunks found written to when handed out again
}

// arenaDebugCounts reads the counters.
func arenaDebugCounts() arenaCounts {
	var c C.kp_arena_counts
	C.kp_arena_debug(&c)
	return arenaCounts{
		arenas:      int(c.arenas),
		chunks:      int(c.chunks),
		unfreed:     int(c.unfreed),
		doubleFreed: int(c.double_freed),
		poison:      int(c.poison),
	}
}

// arenaMisuse commits one of each misuse the checks catch (a block freed
// twice, a block never freed, a free chunk written to), to show that they
// do. No document may be parsed or validated meanwhile.
func arenaMisuse() { C.kp_arena_debug_misuse() }
