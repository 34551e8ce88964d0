package jetstream

import (
	"context"
	"fmt"

	"github.com/knooppunt/knooppunt/store"
)

// Quarantine moves a pending message of party's mailbox to quarantine at
// once, leased or not; see pebble.Store.Quarantine, whose contract it
// keeps: recorded in the history, listed by Quarantined, undone by
// Release, idempotent, ErrNotFound for a message not in party's mailbox.
// The mailbox entry is cleared with compare-and-set, so a concurrent List
// or Ack on another node either wins or sees it gone.
func (s *Store) Quarantine(ctx context.Context, party string, id store.ID, reason string) error {
	if err := store.CheckField("party", party, store.MaxPartyLen); err != nil {
		return fmt.Errorf("quarantining message: %w", err)
	}
	if err := store.CheckField("reason", reason, store.MaxReasonLen); err != nil {
		return fmt.Errorf("quarantining message: %w", err)
	}
	if id.IsZero() {
		return fmt.Errorf("quarantining message: zero id: %w", store.ErrInvalid)
	}
	if err := s.enter(); err != nil {
		return err
	}
	s.leave()
	moved := false
	err := s.retry(ctx, func() error {
		e, found, err := s.lastFresh(ctx, s.sub.entry(party, id))
		if err != nil {
			return err
		}
		if !found || len(e.data) == 0 {
			x, found, err := s.lastFresh(ctx, s.sub.quarantine(id))
			if err != nil {
				return err
			}
			if !found || len(x.data) == 0 {
				return store.ErrNotFound // neither pending nor quarantined
			}
			var r entryRec
			if err := decode(x.data, &r, "quarantine entry"); err != nil {
				return err
			}
			if r.Recipient != party {
				return store.ErrNotFound
			}
			return nil // already quarantined
		}
		var r entryRec
		if err := decode(e.data, &r, "mailbox entry"); err != nil {
			return err
		}
		if err := s.submit(ctx, func(b *builder) { b.quarantine(party, id, r, e.seq) }); err != nil {
			return err
		}
		moved = true
		return nil
	})
	if err != nil {
		return fmt.Errorf("quarantining message %s: %w", id, err)
	}
	if moved {
		s.stats.pending.Add(-1)
		s.stats.quarantined.Add(1)
		s.log.Warn().Str("party", party).Stringer("id", id).Str("reason", reason).Msg("message quarantined")
	}
	return nil
}
