package node

import "time"

// feedTrimInterval is how often a feed the products do not follow is
// trimmed (store.Trimmer; a variable for tests).
var feedTrimInterval = time.Minute

// trailAt is the position of the audit trail's follower, past which the
// feed must not be trimmed; nil when none runs.
func (n *Node) trailAt() func() uint64 {
	if n.trail == nil {
		return nil
	}
	return n.trail.Position
}
