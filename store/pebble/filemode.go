package pebble

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/rs/zerolog"

	"github.com/knooppunt/knooppunt/store"
)

// privateFS is the operating system's file system (vfs.Default) as the
// store hands it to Pebble, except that every file it creates gets mode
// store.FileMode and every directory store.DirMode, whatever the process
// umask: vfs.Default creates files 0666 and directories with the mode it
// is asked for, less the umask, and the store's files hold personal data.
// A file is made private before Pebble opens it, so its contents are
// never readable by others, not even for a moment.
type privateFS struct{ vfs.FS }

var _ vfs.FS = privateFS{}

// createPrivate creates the file name, empty and with mode store.FileMode;
// it fails with fs.ErrExist if there is one.
func createPrivate(name string) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, store.FileMode)
	if err != nil {
		return err
	}
	if err := f.Chmod(store.FileMode); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Create creates name afresh, as vfs.Default does: a file that is there
// is removed first, so the result is a new inode.
func (p privateFS) Create(name string, category vfs.DiskWriteCategory) (vfs.File, error) {
	for {
		err := createPrivate(name)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
		if err := os.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	return p.FS.OpenReadWrite(name, category)
}

// OpenReadWrite opens name, creating it private if it does not exist; an
// existing file keeps its mode (Open warns about a loose one).
func (p privateFS) OpenReadWrite(name string, category vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	if err := createPrivate(name); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, err
	}
	return p.FS.OpenReadWrite(name, category, opts...)
}

// ReuseForWrite recycles oldname as newname, which is about to hold new
// data: it is made private too, so a file from before the store set
// modes does not pass its mode on.
func (p privateFS) ReuseForWrite(oldname, newname string, category vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := p.FS.ReuseForWrite(oldname, newname, category)
	if err != nil {
		return f, err
	}
	if err := os.Chmod(newname, store.FileMode); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// Lock creates the lock file private if it does not exist, then locks it.
func (p privateFS) Lock(name string) (io.Closer, error) {
	if err := createPrivate(name); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, err
	}
	return p.FS.Lock(name)
}

// MkdirAll creates dir and its missing parents with mode store.DirMode;
// perm is ignored.
func (p privateFS) MkdirAll(dir string, _ os.FileMode) error {
	return store.MkdirPrivate(dir)
}

// Unwrap returns vfs.Default.
func (p privateFS) Unwrap() vfs.FS { return p.FS }

// warnModes logs, when the store opens, the store directory and the
// entries in it that group or others may read (store.CheckMode): the
// directory and any subdirectory on a line of their own, the files on
// one line with their count and the first one found, not one line per
// sstable.
func warnModes(log zerolog.Logger, dir string) {
	store.WarnMode(log, dir)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return // absent (a new store) or unreadable, which Open reports
	}
	var first error
	n := 0
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		if e.IsDir() {
			store.WarnMode(log, path)
			continue
		}
		if err := store.CheckMode(path); err != nil {
			if first == nil {
				first = err
			}
			n++
		}
	}
	if n > 0 {
		log.Warn().Err(first).Int("files", n).Str("path", dir).
			Msg("store files open to group or others; chmod 600 " + filepath.Join(dir, "*"))
	}
}
