package store

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/rs/zerolog"
)

// The modes of everything the switch keeps on disk: the store, the audit
// trail, the state files of the information products and the key file hold
// BSNs, names, access records or keys, so only the switch's own user may
// read them.
const (
	FileMode fs.FileMode = 0o600
	DirMode  fs.FileMode = 0o700
)

// ModeError is a file or directory that group or others may read, write
// or enter.
type ModeError struct {
	Path string
	Mode fs.FileMode // the permission bits found
	Dir  bool
}

func (e *ModeError) Error() string {
	want := FileMode
	if e.Dir {
		want = DirMode
	}
	return fmt.Sprintf("%s has mode %#o, open to group or others; chmod %o %s", e.Path, e.Mode, want, e.Path)
}

// CheckMode checks that path (symbolic links followed) grants group and
// others nothing: none of the permission bits 0o077, as with 0600 for a
// file and 0700 for a directory (0400 passes too). A path that does not
// exist passes: the switch creates it private. A looser mode is a
// *ModeError naming the path, the mode found and the chmod that fixes it;
// the caller decides whether that is a warning or a refusal.
func CheckMode(path string) error {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("checking the mode of %s: %w", path, err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return &ModeError{Path: path, Mode: perm, Dir: fi.IsDir()}
	}
	return nil
}

// WarnMode logs a warning naming path, its mode and the fix when
// CheckMode finds fault with it, and lets the caller go on: the check for
// data files at start, where an operator should hear of a loose mode
// without the switch going down. Key files are refused instead (the
// caller returns CheckMode's error).
func WarnMode(log zerolog.Logger, path string) {
	err := CheckMode(path)
	if err == nil {
		return
	}
	ev := log.Warn().Err(err).Str("path", path)
	if me, ok := errors.AsType[*ModeError](err); ok {
		ev = ev.Str("mode", fmt.Sprintf("%#o", me.Mode))
	}
	ev.Msg("personal data open to group or others")
}

// MkdirPrivate creates dir and any missing parents with mode DirMode,
// whatever the process umask; directories that exist are left as they
// are. Each level is created and set before the next, so a umask that
// takes the owner's bits does not stop the one below.
func MkdirPrivate(dir string) error {
	var missing []string
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); !errors.Is(err, fs.ErrNotExist) {
			break
		}
		missing = append(missing, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	for i := len(missing) - 1; i >= 0; i-- {
		d := missing[i]
		err := os.Mkdir(d, DirMode)
		if errors.Is(err, fs.ErrExist) {
			continue // made meanwhile by someone else: theirs to set
		}
		if err == nil {
			err = os.Chmod(d, DirMode)
		}
		if err != nil {
			return fmt.Errorf("creating directory %s: %w", d, err)
		}
	}
	return nil
}

// ReplaceFile replaces the file at path with what write writes, so that a
// crash leaves the old file or the new one, never half of either: into a
// temporary file beside it (mode FileMode whatever the umask), synced,
// renamed over path, and the directory synced. The information products'
// state files are saved this way.
func ReplaceFile(path string, write func(w io.Writer) error) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // after the rename, nothing is there
	err = f.Chmod(FileMode)
	if err == nil {
		err = write(f)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // the rename is durable with the directory's next sync at worst
		d.Close()
	}
	return nil
}
