package pebble

import (
	"time"

	"github.com/knooppunt/knooppunt/store"
)

// idGen hands out strictly increasing ids. It is not safe for concurrent
// use: only the committer goroutine calls it.
type idGen struct {
	last store.ID
	rand func([]byte)
}

// next returns an id greater than every id returned before and than the
// floor set at Open.
func (g *idGen) next(now time.Time) store.ID {
	g.last = store.NextID(g.last, now, g.rand)
	return g.last
}
