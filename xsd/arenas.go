package xsd

/*
#include "shim.h"
*/
import "C"

import "fmt"

// arenaSeries is the libxml2 series the arena allocator was written for.
const arenaSeries = "2.9.x"

// Arenas reports whether libxml2's memory for each document comes from an
// arena of its own (arena.c) or from plain malloc, and why. The arena
// allocator is written for libxml2 2.9.x and is installed on no other
// version; why names the version found. Arenas initialises libxml2 if no
// schema has been compiled yet. It is meant for the start-up log.
func Arenas() (on bool, why string) {
	initLibxml2()
	var runtime C.long
	code := C.kp_arena_state(&runtime)
	return arenaReason(int(code), int(runtime), int(C.LIBXML_VERSION))
}

// arenaDecision is kp_arena_decide, the check kp_init makes, in Go terms:
// runtime (the loaded library) and compiled (the headers) are
// LIBXML_VERSION numbers, 20914 for 2.9.14.
func arenaDecision(runtime, compiled int) (on bool, why string) {
	code := C.kp_arena_decide(C.long(runtime), C.long(compiled))
	return arenaReason(int(code), runtime, compiled)
}

// arenaReason renders an outcome of kp_arena_decide or kp_arena_state.
func arenaReason(code, runtime, compiled int) (bool, string) {
	switch code {
	case C.KP_ARENA_ON:
		return true, fmt.Sprintf("libxml2 %s: document memory in arenas", libxml2Version(runtime))
	case C.KP_ARENA_HEADERS_VERSION:
		return false, fmt.Sprintf("built against the headers of libxml2 %s; the arena allocator is written for %s: document memory from malloc", libxml2Version(compiled), arenaSeries)
	case C.KP_ARENA_RUNTIME_VERSION:
		return false, fmt.Sprintf("libxml2 %s is loaded; the arena allocator is written for %s: document memory from malloc", libxml2Version(runtime), arenaSeries)
	case C.KP_ARENA_NO_RANGE:
		return false, "the arenas' address range could not be reserved: document memory from malloc"
	default:
		return false, "libxml2 is not initialised"
	}
}

// libxml2Version renders a LIBXML_VERSION number as major.minor.patch.
func libxml2Version(v int) string {
	if v <= 0 {
		return "of unknown version"
	}
	return fmt.Sprintf("%d.%d.%d", v/10000, v/100%100, v%100)
}
