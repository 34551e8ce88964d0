package pebble_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/logtest"
	"github.com/knooppunt/knooppunt/store"
	"github.com/knooppunt/knooppunt/store/pebble"
	"github.com/knooppunt/knooppunt/store/storetest"
)

// withUmask runs the rest of the test under umask mask. The umask is the
// process's: no test in this package runs in parallel.
func withUmask(t *testing.T, mask int) {
	old := syscall.Umask(mask)
	t.Cleanup(func() { syscall.Umask(old) })
}

// modes returns the permission bits of dir and of everything under it.
func modes(t *testing.T, dir string) map[string]fs.FileMode {
	t.Helper()
	out := map[string]fs.FileMode{}
	require.NoError(t, filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		out[path] = fi.Mode().Perm()
		return nil
	}))
	return out
}

// TestStoreFilesArePrivate: every file Pebble writes for the store (WAL,
// sstables, MANIFEST, OPTIONS, markers, LOCK) is 0600 and every directory
// 0700, whatever the umask: a permissive one, and one that takes the
// owner's bits too. A small memtable makes flushes write sstables, and a
// reopen replays and recycles the WAL.
func TestStoreFilesArePrivate(t *testing.T) {
	for _, mask := range []int{0, 0o277} {
		t.Run(strconv.FormatInt(int64(mask), 8), func(t *testing.T) {
			base := t.TempDir()
			withUmask(t, mask)
			dir := filepath.Join(base, "node", "data")
			ctx := context.Background()
			cfg := pebble.Config{Dir: dir, MemTableSize: 256 << 10, Now: storetest.NewClock(t0).Now}
			for round := range 2 {
				s, err := pebble.Open(ctx, cfg)
				require.NoError(t, err)
				for i := range 300 {
					m := storetest.Msg("12345678", "0363", "WMO315", fmt.Sprint("ID-", round, "-", i), strings.Repeat("x", 2<<10))
					_, err := s.Put(ctx, m)
					require.NoError(t, err)
				}
				require.NoError(t, s.Close())
			}
			got := modes(t, filepath.Join(base, "node"))
			sst := 0
			for path, mode := range got {
				fi, err := os.Stat(path)
				require.NoError(t, err)
				if fi.IsDir() {
					assert.Equal(t, store.DirMode, mode, path)
					continue
				}
				assert.Equal(t, store.FileMode, mode, path)
				if strings.HasSuffix(path, ".sst") {
					sst++
				}
			}
			assert.Positive(t, sst, "flushes wrote sstables: %v", got)
		})
	}
}

// TestOpenWarnsOfLooseStoreModes: a store directory at 0755 with a file
// at 0644 in it opens, with warnings that name the paths, the modes and
// the chmod that fixes them; private modes give no warning.
func TestOpenWarnsOfLooseStoreModes(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	s, err := pebble.Open(ctx, pebble.Config{Dir: dir})
	require.NoError(t, err)
	require.NoError(t, s.Close())
	names, err := os.ReadDir(dir)
	require.NoError(t, err)
	var file string
	for _, e := range names {
		if strings.HasPrefix(e.Name(), "OPTIONS-") {
			file = filepath.Join(dir, e.Name())
		}
	}
	require.NotEmpty(t, file, "an OPTIONS file")
	require.NoError(t, os.Chmod(dir, 0o755))
	require.NoError(t, os.Chmod(file, 0o644))

	var logs logtest.Buffer
	s, err = pebble.Open(ctx, pebble.Config{Dir: dir, Logger: zerolog.New(&logs)})
	require.NoError(t, err, "a warning, not a refusal")
	require.NoError(t, s.Close())
	out := logs.String()
	assert.Contains(t, out, `"level":"warn"`)
	assert.Contains(t, out, `"mode":"0755"`)
	assert.Contains(t, out, "chmod 700 "+dir)
	assert.Contains(t, out, file+" has mode 0644")
	assert.Contains(t, out, "chmod 600 "+filepath.Join(dir, "*"))

	require.NoError(t, os.Chmod(dir, store.DirMode))
	names, err = os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range names {
		if path := filepath.Join(dir, e.Name()); !e.IsDir() {
			require.NoError(t, os.Chmod(path, store.FileMode))
		}
	}
	logs = logtest.Buffer{}
	s, err = pebble.Open(ctx, pebble.Config{Dir: dir, Logger: zerolog.New(&logs)})
	require.NoError(t, err)
	require.NoError(t, s.Close())
	assert.NotContains(t, logs.String(), "chmod", "private modes: no warning")
}

// TestKeyFileModes: a key file that group or others may read or write is
// refused, by LoadKeyring at start and by AddKey (knooppunt keys rotate),
// with the path, the mode and the fix; the owner's bits alone pass.
func TestKeyFileModes(t *testing.T) {
	for _, tt := range []struct {
		mode fs.FileMode
		ok   bool
	}{{0o600, true}, {0o400, true}, {0o644, false}, {0o640, false}, {0o604, false}, {0o620, false}} {
		t.Run(strconv.FormatUint(uint64(tt.mode), 8), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "data.keys")
			_, err := store.AddKey(path, time.Now())
			require.NoError(t, err)
			require.NoError(t, os.Chmod(path, tt.mode))
			_, err = store.LoadKeyring(path)
			if tt.ok {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, store.ErrInvalid)
			me, ok := errors.AsType[*store.ModeError](err)
			require.True(t, ok, "a *store.ModeError, got %v", err)
			assert.Equal(t, tt.mode, me.Mode)
			assert.Contains(t, err.Error(), "chmod 600 "+path)
			_, err = store.AddKey(path, time.Now())
			assert.ErrorIs(t, err, store.ErrInvalid, "no key added to a loose file")
		})
	}
}

// TestAddKeyIsPrivate: the key file `knooppunt keys rotate` writes is
// 0600 whatever the umask, and whatever the mode of the temporary file an
// interrupted rotation left.
func TestAddKeyIsPrivate(t *testing.T) {
	for _, mask := range []int{0, 0o277} {
		t.Run(strconv.FormatInt(int64(mask), 8), func(t *testing.T) {
			dir := t.TempDir()
			withUmask(t, mask)
			path := filepath.Join(dir, "data.keys")
			_, err := store.AddKey(path, time.Now())
			require.NoError(t, err)
			fi, err := os.Stat(path)
			require.NoError(t, err)
			assert.Equal(t, store.FileMode, fi.Mode().Perm(), "created")

			require.NoError(t, os.WriteFile(path+".new", nil, 0o644))
			require.NoError(t, os.Chmod(path+".new", 0o644))
			_, err = store.AddKey(path, time.Now())
			require.NoError(t, err)
			fi, err = os.Stat(path)
			require.NoError(t, err)
			assert.Equal(t, store.FileMode, fi.Mode().Perm(), "rotated over a leftover at 0644")
			k, err := store.LoadKeyring(path)
			require.NoError(t, err)
			assert.Len(t, k.IDs(), 2)
		})
	}
}

// TestSecondOpenSaysWhoHoldsTheStore: a store open in one place is refused
// to a second opener with ErrLocked and what to do about it.
func TestSecondOpenSaysWhoHoldsTheStore(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s, err := pebble.Open(context.Background(), pebble.Config{Dir: dir})
	require.NoError(t, err)
	defer s.Close()
	_, err = pebble.Open(context.Background(), pebble.Config{Dir: dir})
	require.ErrorIs(t, err, store.ErrLocked)
	require.ErrorContains(t, err, "another knooppunt process holds the lock on "+dir+"; stop it, or choose another --data")
}
