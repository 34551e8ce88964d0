package pebble

import (
	"context"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// Checkpoint writes a consistent copy of the store into dir, which must
// not exist, while the store serves: every commit synced before the call
// is in it, in the state of one moment (messages, mailboxes, history,
// feed, trail head), and Open opens it as any store. Its files
// are hard links where the file system allows, so it costs little space
// until the store compacts; they are private, as the store's own.
func (p *Store) Checkpoint(ctx context.Context, dir string) error {
	if err := p.enter(); err != nil {
		return err
	}
	defer p.leave()
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := p.db.Checkpoint(dir, pebble.WithFlushedWAL()); err != nil {
		return fmt.Errorf("checkpointing the store into %s: %w", dir, err)
	}
	return nil
}
