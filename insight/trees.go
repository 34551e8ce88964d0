package insight

import (
	"sync"

	"github.com/knooppunt/knooppunt/bericht"
)

// maxTrees bounds the trees held for the products' follower.
const maxTrees = 4096

// Trees holds the trees validation built of messages on their way into
// the store, by the SHA-256 of their bytes, until the products' follower
// takes them: a message it finds here is not read from the store and
// scanned a second time. The store's feed stays the source of what was
// stored; the cache only saves work, so when it is full a message goes
// uncached and the follower reads its bytes.
type Trees struct {
	mu sync.Mutex
	by map[[32]byte]*heldTree
}

// heldTree is a tree and the puts under way that hold it: identical bytes
// sent twice at once share one entry.
type heldTree struct {
	tree *bericht.Tree
	refs int
}

// NewTrees returns an empty cache.
func NewTrees() *Trees { return &Trees{by: map[[32]byte]*heldTree{}} }

// Hold keeps tree for the message with digest sum while it is stored, and
// reports whether it did (false when the cache is full).
func (c *Trees) Hold(sum [32]byte, tree *bericht.Tree) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if h, ok := c.by[sum]; ok {
		h.refs++
		return true
	}
	if len(c.by) >= maxTrees {
		return false
	}
	c.by[sum] = &heldTree{tree: tree, refs: 1}
	return true
}

// Release gives up one hold of a message that was not stored after all
// (refused, or an idempotent resend of one stored before).
func (c *Trees) Release(sum [32]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if h, ok := c.by[sum]; ok {
		if h.refs--; h.refs <= 0 {
			delete(c.by, sum)
		}
	}
}

// Take returns and forgets the tree of the stored message with digest sum,
// or nil.
func (c *Trees) Take(sum [32]byte) *bericht.Tree {
	c.mu.Lock()
	defer c.mu.Unlock()
	h, ok := c.by[sum]
	if !ok {
		return nil
	}
	delete(c.by, sum)
	return h.tree
}
