package insight

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/rs/zerolog"

	"github.com/knooppunt/knooppunt/store"
)

// The products' state files live inside the data directory, in products/,
// unless named explicitly, so two instances on sibling data directories
// never share them; each is locked while a switch uses it.

// ProductsDir is the folder of the products' state inside the data
// directory.
const ProductsDir = "products"

// stateFiles returns where the products' state is kept: the files named,
// or stuurinfo.gob and samenloop.gob in products/ inside the data
// directory. State left at the earlier default beside the data directory
// is moved in, once, with a warning.
func stateFiles(data, stuurinfoFile, samenloopFile string, log zerolog.Logger) (string, string, error) {
	dir := filepath.Join(filepath.Clean(data), ProductsDir)
	files := []*string{&stuurinfoFile, &samenloopFile}
	for i, name := range []string{"stuurinfo.gob", "samenloop.gob"} {
		if *files[i] != "" {
			continue
		}
		if err := store.MkdirPrivate(dir); err != nil {
			return "", "", fmt.Errorf("creating the products' state folder: %w", err)
		}
		*files[i] = filepath.Join(dir, name)
		old := filepath.Join(filepath.Dir(filepath.Clean(data)), name)
		if _, err := os.Stat(*files[i]); !errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if _, err := os.Stat(old); err != nil {
			continue
		}
		if err := os.Rename(old, *files[i]); err != nil {
			return "", "", fmt.Errorf("moving %s into the data directory: %w", old, err)
		}
		log.Warn().Str("from", old).Str("to", *files[i]).
			Msg("state moved from beside the data directory into it; instances on sibling data directories no longer share it")
	}
	return stuurinfoFile, samenloopFile, nil
}

// stateLock is an exclusive lock on a state file, held while a switch uses
// it: a lock file beside it, locked with flock, so the lock does not
// follow the file when a save replaces it.
type stateLock struct{ f *os.File }

// lockState takes the lock on path, or fails at once, saying what to do,
// when another process holds it.
func lockState(path string) (*stateLock, error) {
	f, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE, store.FileMode)
	if err != nil {
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("another knooppunt process holds the lock on %s; stop it, or give this one another --data or state file", path)
		}
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	return &stateLock{f: f}, nil
}

// Close releases the lock; safe on nil and twice.
func (l *stateLock) Close() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close() // closing the descriptor releases the flock
	l.f = nil
	return err
}
