package conformance

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no goroutine outlives the tests: the runner's
// connections and the in-process switch are all closed.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
