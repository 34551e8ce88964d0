package jetstream

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	js "github.com/nats-io/nats.go/jetstream"

	"github.com/knooppunt/knooppunt/store"
)

// The audit record of a message received travels in the commit that
// stores it, as on Pebble: a Put with a Reception also appends the
// reception to the log of the node that received it (Config.Node), in the
// same atomic batch, and an identical resend appends one on its own. The
// node's audit trail follows that log (TrailLog, for audit.Follower) from
// the position it keeps with the trail's head in the stream, so a crash
// between the store's commit and the trail's write loses no record: the
// node's next start writes it. Each node's trail holds the receptions of
// that node, as when the gateway wrote them itself.

// receptionRec is one reception in a node's log.
type receptionRec struct {
	ID        store.ID `json:"id"`
	At        int64    `json:"at"`
	Principal string   `json:"principal"`
	Remote    string   `json:"remote,omitempty"`
	// Resend marks an identical resend: nothing else was stored.
	Resend bool `json:"resend,omitempty"`
}

// trailHeadRec is a node's store.TrailHead.
type trailHeadRec struct {
	Seq  uint64 `json:"seq"`
	Hash string `json:"hash"`
	Feed uint64 `json:"feed"`
}

// receptions is the log of node's receptions; trailHead where its trail
// stands.
func (s subjects) receptions(node string) string { return s.p + ".a." + node }
func (s subjects) trailHead(node string) string  { return s.cursor("trail." + node) }

// receptionTTL is how long the servers keep a reception: the trail's
// follower trims what it wrote long before, so only the log of a node
// that never came back (or was renamed) lives this long.
const receptionTTL = "2160h" // 90 days

// reception appends the reception r of message id to this node's log;
// nothing without a Node or a reception.
func (b *builder) reception(id store.ID, r *store.Reception, resend bool) {
	if r == nil || b.s.cfg.Node == "" {
		return
	}
	b.add1(&nats.Msg{Subject: b.s.sub.receptions(b.s.cfg.Node), Header: nats.Header{"Nats-TTL": []string{receptionTTL}},
		Data: encode(receptionRec{ID: id, At: r.At.UnixNano(), Principal: r.Principal, Remote: r.Remote, Resend: resend})})
}

// TrailLog is the log of this node's receptions as its audit trail's
// follower reads it (audit.Receptions); nil without Config.Node.
func (s *Store) TrailLog() *TrailLog {
	if s.cfg.Node == "" {
		return nil
	}
	return &TrailLog{s: s, subject: s.sub.receptions(s.cfg.Node), head: s.sub.trailHead(s.cfg.Node)}
}

// TrailLog is one node's log of receptions in the stream, and where its
// audit trail stands. One follower uses it at a time.
type TrailLog struct {
	s       *Store
	subject string
	head    string
	// trimmed is the position up to which the log was last trimmed.
	trimmed uint64
}

// trailTrimEvery is how far the trail's position moves on between two
// trims of the log: a trim is a replicated write.
const trailTrimEvery = 4096

// Changes returns up to limit receptions of the node after stream
// sequence after, oldest first, as changes of OpPut (OpReceived for an
// identical resend) carrying their Reception. It reads a replica, which
// may be a moment behind the latest commits: the audit trail's follower
// reads this way between flushes, without asking the stream leader.
func (l *TrailLog) Changes(ctx context.Context, after uint64, limit int) ([]store.Change, error) {
	out, _, err := l.changes(ctx, after, limit)
	return out, err
}

// LatestChanges is Changes that then asks the stream leader whether the
// log goes on, so a flush before an audit query sees every reception
// committed; while the leader cannot answer, the replica's view stands.
func (l *TrailLog) LatestChanges(ctx context.Context, after uint64, limit int) ([]store.Change, error) {
	out, pos, err := l.changes(ctx, after, limit)
	if err != nil {
		return nil, err
	}
	s := l.s
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	for len(out) < limit {
		m, found, err := s.askLeader(ctx, l.subject, msgGet{Seq: pos + 1, NextFor: l.subject})
		switch {
		case errors.Is(unavailable(ctx, err), store.ErrUnavailable):
			return out, nil
		case err != nil:
			return nil, fmt.Errorf("reading the receptions: %w", err)
		case !found:
			return out, nil
		}
		c, err := receptionChange(m)
		if err != nil {
			return nil, err
		}
		out, pos = append(out, c), m.seq
	}
	return out, nil
}

// changes is Changes, with the position of the last change returned
// (after when none).
func (l *TrailLog) changes(ctx context.Context, after uint64, limit int) ([]store.Change, uint64, error) {
	s := l.s
	if err := s.enter(); err != nil {
		return nil, 0, err
	}
	defer s.leave()
	if limit <= 0 {
		return nil, 0, fmt.Errorf("reading the receptions: limit %d: %w", limit, store.ErrInvalid)
	}
	var out []store.Change
	pos := after
	_, _, _, err := s.scanOnce(ctx, l.subject, pos+1, func(m stored) (bool, error) {
		if len(out) == limit {
			return false, nil
		}
		c, err := receptionChange(m)
		if err != nil {
			return false, err
		}
		out, pos = append(out, c), m.seq
		return true, nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("reading the receptions: %w", err)
	}
	return out, pos, nil
}

// receptionChange is the change a reception of the log stands for.
func receptionChange(m stored) (store.Change, error) {
	var r receptionRec
	if err := decode(m.data, &r, "reception"); err != nil {
		return store.Change{}, err
	}
	op := store.OpPut
	if r.Resend {
		op = store.OpReceived
	}
	return store.Change{Seq: m.seq, Op: op, ID: r.ID, At: unixTime(r.At),
		Reception: &store.Reception{At: unixTime(r.At), Principal: r.Principal, Remote: r.Remote}}, nil
}

// TrailHead returns the head SaveTrailHead kept last; false when none.
func (l *TrailLog) TrailHead(ctx context.Context) (store.TrailHead, bool, error) {
	s := l.s
	if err := s.enter(); err != nil {
		return store.TrailHead{}, false, err
	}
	defer s.leave()
	m, found, err := s.lastLeader(ctx, l.head)
	if err != nil || !found {
		return store.TrailHead{}, false, err
	}
	var h trailHeadRec
	if err := decode(m.data, &h, "audit trail head"); err != nil {
		return store.TrailHead{}, false, err
	}
	return store.TrailHead{Seq: h.Seq, Hash: h.Hash, Feed: h.Feed}, true, nil
}

// SaveTrailHead keeps where the node's audit trail stands, replacing the
// head kept before, and now and then trims the log up to head.Feed, which
// the trail holds.
func (l *TrailLog) SaveTrailHead(ctx context.Context, head store.TrailHead) error {
	s := l.s
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	h := nats.Header{"Nats-Rollup": []string{"sub"}}
	if _, _, err := s.publishBatch(ctx, []*nats.Msg{{Subject: l.head, Header: h,
		Data: encode(trailHeadRec{Seq: head.Seq, Hash: head.Hash, Feed: head.Feed})}}); err != nil {
		return fmt.Errorf("keeping the audit trail's head: %w", err)
	}
	if head.Feed >= l.trimmed+trailTrimEvery {
		pctx, cancel := s.reqCtx(ctx)
		err := s.stream.Purge(pctx, js.WithPurgeSubject(l.subject), js.WithPurgeSequence(head.Feed+1))
		cancel()
		if err != nil {
			s.log.Warn().Err(err).Msg("trimming the node's receptions log")
		} else {
			l.trimmed = head.Feed
		}
	}
	return nil
}
