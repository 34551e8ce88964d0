package store

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// withUmask runs the rest of the test under umask mask. The umask is the
// process's: no test in this package runs in parallel.
func withUmask(t *testing.T, mask int) {
	old := syscall.Umask(mask)
	t.Cleanup(func() { syscall.Umask(old) })
}

// TestCheckMode: any bit for group or others is found, with the path, the
// mode and the fix in the error; the owner's bits alone pass, as does a
// path that does not exist yet.
func TestCheckMode(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		dir  bool
		mode fs.FileMode
		fix  string // "" passes
	}{
		{"file 0600", false, 0o600, ""},
		{"file 0400", false, 0o400, ""},
		{"file 0644", false, 0o644, "chmod 600"},
		{"file 0620", false, 0o620, "chmod 600"},
		{"file 0601", false, 0o601, "chmod 600"},
		{"dir 0700", true, 0o700, ""},
		{"dir 0755", true, 0o755, "chmod 700"},
		{"dir 0710", true, 0o710, "chmod 700"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.name)
			if tt.dir {
				require.NoError(t, os.Mkdir(path, 0o700))
			} else {
				require.NoError(t, os.WriteFile(path, nil, 0o600))
			}
			require.NoError(t, os.Chmod(path, tt.mode))
			err := CheckMode(path)
			if tt.fix == "" {
				assert.NoError(t, err)
				return
			}
			me, ok := errors.AsType[*ModeError](err)
			require.True(t, ok, "a *ModeError, got %v", err)
			assert.Equal(t, tt.mode, me.Mode)
			assert.Equal(t, tt.dir, me.Dir)
			assert.Contains(t, err.Error(), path)
			assert.Contains(t, err.Error(), "0"+strconv.FormatUint(uint64(tt.mode), 8))
			assert.Contains(t, err.Error(), tt.fix+" "+path)
		})
	}
	assert.NoError(t, CheckMode(filepath.Join(dir, "absent")), "created private later")
}
