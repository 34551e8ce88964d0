package samenloop

import (
	"bytes"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/knooppunt/knooppunt/store"
)

// Sealer encrypts the state file at rest. Seal returns a self-describing
// sealed form of plain (naming its key, so keys can rotate); Open reverses
// it and fails on anything tampered with or sealed under a key it lacks.
type Sealer interface {
	Seal(plain []byte) ([]byte, error)
	Open(sealed []byte) ([]byte, error)
}

// sealedMagic starts a sealed state file; a gob stream never does (its
// first byte is a length, never NUL), so an old clear file still loads
// and is sealed at the next save.
var sealedMagic = []byte{0, 'K', 'P', 'S', 'L', 1}

// state is the persisted form of an Engine: toewijzingen, the register
// copy and what each gemeente was told.
type state struct {
	Version int
	// Position is Engine.position; absent (0) in files written before the
	// engine could follow a shared source.
	Position     uint64
	Toewijzingen []stateTw
	Register     []Entry
	Sent         []stateSent
}

type stateTw struct {
	Gemeente     string
	Nummer, BSN  uint32
	Product      string
	Begin, Einde int32
	Removed      bool
}

type stateSent struct {
	Gemeente string
	Entry    Entry
}

const stateVersion = 1

// ErrState means a state file could not be decoded.
var ErrState = errors.New("samenloop: unreadable state file")

// SaveFile writes the engine's state to path atomically
// (store.ReplaceFile; mode 0600 whatever the umask). The
// file holds BSNs: keep it beside the store, under the same protection.
func (e *Engine) SaveFile(path string) error {
	e.mu.Lock()
	s := state{Version: stateVersion, Position: e.position, Toewijzingen: make([]stateTw, 0, len(e.tw)),
		Register: make([]Entry, 0, len(e.register)), Sent: make([]stateSent, 0, len(e.sent))}
	for k, t := range e.tw {
		s.Toewijzingen = append(s.Toewijzingen, stateTw{Gemeente: k.gemeente, Nummer: k.nummer, BSN: t.bsn,
			Product: t.product, Begin: int32(t.begin), Einde: int32(t.einde), Removed: t.removed})
	}
	for _, r := range e.register {
		s.Register = append(s.Register, r)
	}
	for k, v := range e.sent {
		v.BSN = k.bsn
		s.Sent = append(s.Sent, stateSent{Gemeente: k.gemeente, Entry: v})
	}
	hasRegister := e.register != nil
	e.mu.Unlock()
	if !hasRegister {
		s.Register = nil
	}

	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(&s); err != nil {
		return fmt.Errorf("saving samenloop state: %w", err)
	}
	out := buf.Bytes()
	if e.cfg.Sealer != nil {
		sealed, err := e.cfg.Sealer.Seal(out)
		if err != nil {
			return fmt.Errorf("sealing samenloop state: %w", err)
		}
		out = append(append(make([]byte, 0, len(sealedMagic)+len(sealed)), sealedMagic...), sealed...)
	}
	err := store.ReplaceFile(path, func(w io.Writer) error {
		_, err := w.Write(out)
		return err
	})
	if err != nil {
		return fmt.Errorf("saving samenloop state: %w", err)
	}
	return nil
}

// LoadFile replaces the engine's state with the one saved at path. A
// missing file leaves the engine empty and is no error. A file that group
// or others may read (store.CheckMode) is refused when it is sealed —
// encryption at rest is on, and the state is held to the key file's
// standard — and logged as a warning when it is in the clear. A file in
// the clear is refused while the engine seals (Config.Sealer): BSNs in
// the clear where encryption at rest is promised mean a file from another
// instance or a setup gone wrong, not one to carry on from.
func (e *Engine) LoadFile(path string) error {
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("loading samenloop state: %w", err)
	}
	if !bytes.HasPrefix(raw, sealedMagic) {
		if e.cfg.Sealer != nil {
			return fmt.Errorf("%w %s: in the clear while encryption at rest is on (written by a switch without data keys); move it aside to start without it (then import the Wlz register again), or start without data keys", ErrState, path)
		}
		store.WarnMode(e.cfg.Logger, path)
	} else if err := store.CheckMode(path); err != nil {
		return fmt.Errorf("refusing sealed samenloop state: %w", err)
	}
	if rest, ok := bytes.CutPrefix(raw, sealedMagic); ok {
		if e.cfg.Sealer == nil {
			return fmt.Errorf("%w %s: sealed, and no data keys are configured", ErrState, filepath.Base(path))
		}
		if raw, err = e.cfg.Sealer.Open(rest); err != nil {
			return fmt.Errorf("%w %s: %w", ErrState, filepath.Base(path), err)
		}
	}
	var s state
	if err := gob.NewDecoder(bytes.NewReader(raw)).Decode(&s); err != nil {
		return fmt.Errorf("%w %s", ErrState, filepath.Base(path))
	}
	if s.Version != stateVersion {
		return fmt.Errorf("%w %s: version %d", ErrState, filepath.Base(path), s.Version)
	}
	tw := make(map[twKey]*toewijzing, len(s.Toewijzingen))
	byBSN := make(map[uint32][]twKey)
	for _, t := range s.Toewijzingen {
		k := twKey{gemeente: t.Gemeente, nummer: t.Nummer}
		tw[k] = &toewijzing{bsn: t.BSN, product: t.Product, begin: day(t.Begin), einde: day(t.Einde), removed: t.Removed}
		byBSN[t.BSN] = append(byBSN[t.BSN], k)
	}
	var reg Register
	if s.Register != nil {
		reg = make(Register, len(s.Register))
		for _, r := range s.Register {
			reg[r.BSN] = r
		}
	}
	sent := make(map[sigKey]Entry, len(s.Sent))
	for _, v := range s.Sent {
		sent[sigKey{bsn: v.Entry.BSN, gemeente: v.Gemeente}] = v.Entry
	}
	e.mu.Lock()
	e.tw, e.byBSN, e.register, e.sent, e.position = tw, byBSN, reg, sent, s.Position
	e.mu.Unlock()
	return nil
}
