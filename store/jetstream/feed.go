package jetstream

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/knooppunt/knooppunt/store"
)

var _ store.Feed = (*Store)(nil)

// FollowInterval is how often Follow looks for new messages once it has
// read everything stored.
const FollowInterval = 200 * time.Millisecond

// Follow calls fn, in the order stored, for every message any node of the
// cluster stored after stream sequence after (0: from the oldest the
// stream retains), as a store.Change of OpPut with its Body (nil for a
// message this client stored lately: ownPuts), until ctx
// ends (its error is returned) or fn fails. It is the store.Feed of the
// JetStream store; the stream records puts only, so confirmations,
// quarantines and releases are not in it. It
// polls the stream with batched direct gets and keeps no state in the
// cluster, as the rest of the store does: the caller keeps its position,
// the Seq of the last message it handled. A read that fails (a server
// down, a leader election) is retried from the same position, so no
// message is skipped; one is delivered again only to a caller that
// resumes from an older position.
//
// The information products use it so that every node counts the traffic
// of every node (docs/operations.md).
func (s *Store) Follow(ctx context.Context, after uint64, fn func(store.Change) error) error {
	return s.follow(ctx, after, true, fn)
}

// Filings is the feed for a follower that only learns which mailbox each
// message was filed in, such as the waker of push workers: Follow without
// the messages' bytes (Change.Body nil), which it does not read.
func (s *Store) Filings() store.Feed { return filings{s} }

// filings is Store.Filings.
type filings struct{ s *Store }

func (f filings) Follow(ctx context.Context, after uint64, fn func(store.Change) error) error {
	return f.s.follow(ctx, after, false, fn)
}

func (f filings) Head(ctx context.Context) (uint64, error) { return f.s.Head(ctx) }

func (f filings) TrimFeed(ctx context.Context, upTo uint64) (int64, error) { return 0, nil }

// follow is Follow, reading the messages' bytes when bodies is set.
func (s *Store) follow(ctx context.Context, after uint64, bodies bool, fn func(store.Change) error) error {
	if err := s.enter(); err != nil {
		return err
	}
	s.leave()
	pos := after
	wait := time.NewTimer(0)
	defer wait.Stop()
	for failures := 0; ; {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.quit:
			return store.ErrClosed
		case <-wait.C:
		}
		n, err := s.followOnce(ctx, &pos, bodies, fn)
		var ferr *followError
		switch {
		case errors.As(err, &ferr):
			return ferr.err
		case err != nil && ctx.Err() != nil:
			return ctx.Err()
		case err != nil:
			failures++
			s.log.Warn().Err(err).Uint64("position", pos).Int("failures", failures).Msg("following the stream")
			wait.Reset(min(time.Duration(failures)*FollowInterval, 5*time.Second))
		case n > 0:
			failures = 0
			wait.Reset(0) // more may be waiting
		default:
			failures = 0
			wait.Reset(FollowInterval)
		}
	}
}

// Head is the position of the newest message in the stream (0 when it
// holds none): where a follower that must not count the history starts.
func (s *Store) Head(ctx context.Context) (uint64, error) {
	if err := s.enter(); err != nil {
		return 0, err
	}
	defer s.leave()
	last, ok, err := s.lastLeader(ctx, s.sub.allMeta())
	if err != nil || !ok {
		return 0, err
	}
	return last.seq, nil
}

// TrimFeed trims nothing: the stream keeps messages by its own retention,
// and the feed is the stream.
func (s *Store) TrimFeed(ctx context.Context, upTo uint64) (int64, error) { return 0, nil }

// followError carries an error of the caller's fn out of the scan.
type followError struct{ err error }

func (e *followError) Error() string { return e.err.Error() }

// followOnce delivers what is stored after *pos, advancing *pos past each
// message handed to fn. It returns how many it delivered. It reads the
// records a batch at a time, and the bytes of each batch with one more
// request (lastOf) rather than one per message.
func (s *Store) followOnce(ctx context.Context, pos *uint64, bodies bool, fn func(store.Change) error) (int, error) {
	n := 0
	for {
		var recs []stored
		got, next, more, err := s.scanOnce(ctx, s.sub.allMeta(), *pos+1, func(m stored) (bool, error) {
			recs = append(recs, m)
			return true, nil
		})
		if err != nil {
			return n, err
		}
		ids := make([]store.ID, len(recs))
		metas := make([]metaRec, len(recs))
		var first []string               // the first chunks of the batch
		fetch := make([]bool, len(recs)) // whose bytes are read
		for i, m := range recs {
			if ids[i], err = idFromSubject(m.subject); err != nil {
				return n, fmt.Errorf("following the stream: record subject %q: %w", m.subject, store.ErrCorrupt)
			}
			if metas[i], err = decodeMeta(m.data); err != nil {
				return n, fmt.Errorf("following the stream: %s: %w", ids[i], err)
			}
			if fetch[i] = bodies && metas[i].Chunks > 0 && !s.own.take(ids[i]); fetch[i] {
				first = append(first, s.sub.body(ids[i], 0))
			}
		}
		var read map[string]stored
		if len(first) > 0 {
			if read, err = s.lastOf(ctx, first); err != nil {
				return n, fmt.Errorf("following the stream: %w", err)
			}
		}
		for i, m := range recs {
			id, rec := ids[i], metas[i]
			var body []byte
			if fetch[i] {
				if body, err = s.followBody(ctx, id, rec, read); err != nil {
					return n, err
				}
			}
			c := store.Change{Seq: m.seq, Op: store.OpPut, At: unixTime(rec.Stored), ID: id, Soort: rec.Soort,
				Sender: rec.Sender, Recipient: rec.Recipient, Received: unixTime(rec.Received), Answers: rec.Answers,
				Size: rec.Size, Body: body}
			copy(c.SHA256[:], rec.SHA256)
			if err := fn(c); err != nil {
				return n, &followError{err}
			}
			*pos = m.seq
			n++
		}
		if !more || got == 0 || next <= *pos {
			return n, nil
		}
	}
}

// followBody reads the bytes of a message Follow came by (those in got
// are read already); nil when they are gone (retention), cannot be
// opened or do not match their record.
func (s *Store) followBody(ctx context.Context, id store.ID, rec metaRec, got map[string]stored) ([]byte, error) {
	body, err := s.readBody(ctx, id, rec, got)
	switch {
	case errors.Is(err, store.ErrExpired):
		return nil, nil
	case errors.Is(err, store.ErrSealed) || errors.Is(err, store.ErrCorrupt):
		// A follower without the key, or damaged bytes: the message is
		// observed without its content rather than stop the products.
		s.log.Warn().Str("code", store.Code(err)).Stringer("id", id).Msg("following the stream: message bytes unreadable")
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("following the stream: body of %s: %w", id, err)
	}
	return body, nil
}
