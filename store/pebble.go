package store

import (
	"context"
	"errors"
)

// Pebble is the Store on a local Pebble database. Create it with Open.
type Pebble struct{}

var _ Store = (*Pebble)(nil)

var errUnimplemented = errors.New("store: not implemented yet")

// Open opens the store in cfg.Dir, creating it if the directory is absent
// or empty. A directory holding anything other than a knooppunt store fails
// with ErrForeignDir and is left untouched; unreadable data fails with
// ErrCorrupt. On open, leases that expired while the store was down make
// their messages visible again.
func Open(ctx context.Context, cfg Config) (*Pebble, error) {
	return nil, errUnimplemented
}

func (p *Pebble) Put(ctx context.Context, msg *Message) (Receipt, error) {
	return Receipt{}, errUnimplemented
}
func (p *Pebble) Lookup(ctx context.Context, key Key) (*Meta, error) { return nil, errUnimplemented }
func (p *Pebble) Meta(ctx context.Context, id ID) (*Meta, error)    { return nil, errUnimplemented }
func (p *Pebble) Conversation(ctx context.Context, id ID) ([]*Meta, error) {
	return nil, errUnimplemented
}
func (p *Pebble) List(ctx context.Context, party string, limit int) ([]Entry, error) {
	return nil, errUnimplemented
}
func (p *Pebble) Get(ctx context.Context, party string, id ID) ([]byte, error) {
	return nil, errUnimplemented
}
func (p *Pebble) Ack(ctx context.Context, party string, id ID) error { return errUnimplemented }
func (p *Pebble) Quarantined(ctx context.Context, after ID, limit int) ([]Entry, error) {
	return nil, errUnimplemented
}
func (p *Pebble) Release(ctx context.Context, id ID) error { return errUnimplemented }
func (p *Pebble) Stats() Stats                            { return Stats{} }
func (p *Pebble) Close() error                            { return nil }
