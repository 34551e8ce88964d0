package pebble

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/knooppunt/knooppunt/store"
)

// Quarantine moves a pending message of party's mailbox to quarantine at
// once, whether or not it is leased, instead of waiting until it has been
// listed MaxDeliveries times: push delivery calls it when a message used
// up its attempts or was refused for good. Like the store's own
// quarantine it is synced before Quarantine returns, recorded in the
// message's history (StateQuarantined), listed by Quarantined and undone
// by Release.
//
// reason is a short code saying why (for example "attempts" or
// "refused"); it is logged with the message id, so it must never hold
// message content. A message already in quarantine is left as it is (nil:
// the call is idempotent); one that is not in party's mailbox fails with
// ErrNotFound.
func (p *Store) Quarantine(ctx context.Context, party string, id store.ID, reason string) error {
	if err := checkParty(party); err != nil {
		return fmt.Errorf("quarantining message: %w", err)
	}
	if err := store.CheckField("reason", reason, store.MaxReasonLen); err != nil {
		return fmt.Errorf("quarantining message: %w", err)
	}
	if id.IsZero() {
		return fmt.Errorf("quarantining message: zero id: %w", store.ErrInvalid)
	}
	moved := false
	err := p.submit(ctx.Done(), ctx.Err, func(w *writer) error {
		qk := queueKey(party, id)
		v, err := w.get(qk)
		switch {
		case errors.Is(err, store.ErrNotFound):
			xv, xerr := w.get(quarantineKey(id))
			if xerr != nil {
				return xerr // ErrNotFound: neither pending nor quarantined
			}
			rec, err := decodeEntry(xv, true)
			if err != nil {
				return err
			}
			if rec.Recipient != party {
				return store.ErrNotFound
			}
			return nil // already quarantined
		case err != nil:
			return fmt.Errorf("reading mailbox entry: %w", err)
		}
		rec, err := decodeEntry(v, false)
		if err != nil {
			return err
		}
		rec.VisibleAt = time.Time{}
		rec.Recipient = party
		w.del(qk)
		w.set(quarantineKey(id), rec.encode(true))
		w.event(id, store.StateQuarantined, w.now, store.ID{})
		w.change(store.Change{Op: store.OpQuarantine, ID: id, Soort: rec.Soort, Sender: rec.Sender, Recipient: party})
		w.delta.pending--
		w.delta.quarantined++
		moved = true
		return w.removed(party, id)
	})
	if err != nil {
		return fmt.Errorf("quarantining message %s: %w", id, err)
	}
	if moved {
		p.log.Warn().Str("party", party).Stringer("id", id).Str("reason", reason).Msg("message quarantined")
	}
	return nil
}
