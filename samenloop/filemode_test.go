package samenloop

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/logtest"
	"github.com/knooppunt/knooppunt/store"
)

// TestStateFileModes: the state file is written 0600 whatever the umask
// (a permissive one, and one that takes the owner's bits too), clear or
// sealed. Found open to group or others at load, a clear file is loaded
// with a warning and a sealed one refused, each naming the path, the mode
// and the chmod that fixes it.
func TestStateFileModes(t *testing.T) {
	for _, sealer := range []Sealer{nil, newGCMSealer(t)} {
		name := "clear"
		if sealer != nil {
			name = "sealed"
		}
		t.Run(name, func(t *testing.T) {
			for _, mask := range []int{0, 0o277} {
				dir := t.TempDir()
				old := syscall.Umask(mask)
				e, err := New(Config{Store: newMemStore(), Location: time.UTC, Sealer: sealer})
				require.NoError(t, err)
				path := filepath.Join(dir, "samenloop.gob")
				err = e.SaveFile(path)
				syscall.Umask(old)
				require.NoError(t, err)
				require.NoError(t, e.Close())
				fi, err := os.Stat(path)
				require.NoError(t, err)
				assert.Equal(t, store.FileMode, fi.Mode().Perm(), "umask %o", mask)
			}

			path := filepath.Join(t.TempDir(), "samenloop.gob")
			e, err := New(Config{Store: newMemStore(), Location: time.UTC, Sealer: sealer})
			require.NoError(t, err)
			require.NoError(t, e.SaveFile(path))
			require.NoError(t, e.Close())
			require.NoError(t, os.Chmod(path, 0o644))
			var logs logtest.Buffer
			e, err = New(Config{Store: newMemStore(), Location: time.UTC, Sealer: sealer, Logger: zerolog.New(&logs)})
			require.NoError(t, err)
			defer e.Close()
			err = e.LoadFile(path)
			if sealer == nil {
				require.NoError(t, err, "a warning, not a refusal")
				out := logs.String()
				assert.Contains(t, out, `"level":"warn"`)
				assert.Contains(t, out, `"mode":"0644"`)
				assert.Contains(t, out, "chmod 600 "+path)
				return
			}
			_, ok := errors.AsType[*store.ModeError](err)
			require.True(t, ok, "refused with a *store.ModeError, got %v", err)
			assert.Contains(t, err.Error(), path+" has mode 0644")
			assert.Contains(t, err.Error(), "chmod 600 "+path)
			require.NoError(t, os.Chmod(path, 0o600))
			assert.NoError(t, e.LoadFile(path), "loads once private")
		})
	}
}

// TestClearStateRefusedWhenSealing: a state file in the clear is refused
// by an engine that seals, and loaded by one that does not.
func TestClearStateRefusedWhenSealing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "samenloop.gob")
	clear, err := New(Config{Store: newMemStore(), Location: time.UTC})
	require.NoError(t, err)
	require.NoError(t, clear.SaveFile(path))
	sealing, err := New(Config{Store: newMemStore(), Location: time.UTC, Sealer: newGCMSealer(t)})
	require.NoError(t, err)
	err = sealing.LoadFile(path)
	require.ErrorIs(t, err, ErrState)
	require.Contains(t, err.Error(), "in the clear while encryption at rest is on")
	again, err := New(Config{Store: newMemStore(), Location: time.UTC})
	require.NoError(t, err)
	require.NoError(t, again.LoadFile(path))
}
