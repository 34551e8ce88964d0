package routing

import (
	"sync"
	"sync/atomic"
)

// Book holds the registry in force and replaces it on Reload, for the
// gateway to call on SIGHUP. Readers take Registry once per request and use
// that registry for the whole request, so a reload never splits one. A
// Book is safe for concurrent use; reloading touches no messages.
type Book struct {
	cur    atomic.Pointer[Registry]
	reload sync.Mutex // one Reload at a time: the last one wins
}

// NewBook returns a Book holding r.
func NewBook(r *Registry) *Book {
	b := &Book{}
	b.cur.Store(r)
	return b
}

// Registry is the registry in force.
func (b *Book) Registry() *Registry { return b.cur.Load() }

// Reload reads the registry file at path and, if it is valid, makes it the
// registry in force. An invalid file leaves the registry in force as it
// was, and the error (a *ConfigError, wrapped) lists every problem.
func (b *Book) Reload(path string) error {
	b.reload.Lock()
	defer b.reload.Unlock()
	r, err := Load(path)
	if err != nil {
		return err
	}
	b.cur.Store(r)
	return nil
}
