package logtest

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

// TestBufferKeepsEveryLine: lines written from many goroutines while the
// test reads all arrive whole (run with -race for the locking).
func TestBufferKeepsEveryLine(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 100 {
				fmt.Fprintf(&b, "g%d line %d\n", g, i)
			}
		})
	}
	for range 10 {
		_ = b.String()
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 800 {
		t.Fatalf("%d lines, want 800", len(lines))
	}
	seen := map[string]bool{}
	for _, l := range lines {
		seen[l] = true
	}
	if len(seen) != 800 || !seen["g7 line 99"] {
		t.Fatalf("lines lost or torn: %d distinct", len(seen))
	}
}
