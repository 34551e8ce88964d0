package node

import (
	"context"
	"fmt"

	"github.com/knooppunt/knooppunt/audit"
)

// startTrail starts the audit trail's follower of the receptions the
// store keeps (Pebble: its feed; JetStream: the node's log), after
// writing what a previous run left unrecorded, when the node has a trail.
// It reports whether the gateway may leave the records of receptions to
// it.
func (n *Node) startTrail(ctx context.Context) (bool, error) {
	if n.receptions == nil || n.audit == nil {
		return false, nil
	}
	head, ok, err := n.receptions.TrailHead(ctx)
	if err != nil {
		return false, err
	}
	if ok {
		if err := audit.CheckHead(ctx, n.audit, head); err != nil {
			return false, err
		}
	}
	f, err := audit.NewFollower(n.receptions, n.audit, head.Feed, n.log.With().Str("component", "audit-follower").Logger(), n.metrics)
	if err != nil {
		return false, err
	}
	recorded, err := f.Recover(ctx)
	if err != nil {
		return false, err
	}
	if recorded > 0 {
		n.log.Info().Int("records", recorded).Msg("wrote receptions a previous run left in the store's feed into the audit trail")
	}
	n.trail = f
	go f.Run()
	return true, nil
}

// stopTrail stops the follower after a last step; safe when none runs
// and more than once. It runs before the store closes.
func (n *Node) stopTrail() {
	if n.trail != nil {
		n.trail.Close()
	}
}

// auditPort is the gateway's Auditor: the trail, whose queries first
// catch its follower up, so that an auditor sees the record of every
// message whose answer has left.
type auditPort struct {
	log    *audit.Log
	follow *audit.Follower // nil: none
}

func (a auditPort) Append(ctx context.Context, e audit.Entry) (audit.Entry, error) {
	return a.log.Append(ctx, e)
}

func (a auditPort) AppendAll(ctx context.Context, entries []audit.Entry) error {
	return a.log.AppendAll(ctx, entries)
}

func (a auditPort) Query(ctx context.Context, f audit.Filter) ([]audit.Entry, bool, error) {
	if err := a.follow.Flush(ctx); err != nil {
		return nil, false, fmt.Errorf("writing the store's receptions into the trail: %w", err)
	}
	return a.log.Query(ctx, f)
}

// FlushAudit writes the receptions the store's feed holds into the trail,
// so that Audit().Query sees them all.
func (n *Node) FlushAudit(ctx context.Context) error { return n.trail.Flush(ctx) }

// auditReady is the node's readiness check of the audit trail's intake.
func (n *Node) auditReady(ctx context.Context) error {
	if n.trail == nil {
		return nil
	}
	return n.trail.Ready(ctx)
}
