package audit

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/logtest"
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

// TestOpenCreatesPrivate: a new trail's directories are 0700 and its file
// 0600, whatever the umask — a permissive one, and one that takes the
// owner's bits too.
func TestOpenCreatesPrivate(t *testing.T) {
	for _, mask := range []int{0, 0o277} {
		t.Run(strconv.FormatInt(int64(mask), 8), func(t *testing.T) {
			base := t.TempDir()
			withUmask(t, mask)
			dir := filepath.Join(base, "node", "data.audit")
			l, err := Open(Config{Dir: dir, PruneEvery: -1})
			require.NoError(t, err)
			_, err = l.Append(context.Background(), Entry{Principal: "p", Action: Fetched, MessageID: "m"})
			require.NoError(t, err)
			require.NoError(t, l.Close())
			for path, want := range map[string]fs.FileMode{
				filepath.Join(base, "node"):  DirMode,
				dir:                          DirMode,
				filepath.Join(dir, FileName): FileMode,
			} {
				fi, err := os.Stat(path)
				require.NoError(t, err)
				assert.Equal(t, want, fi.Mode().Perm(), path)
			}
		})
	}
}

// TestOpenWarnsOfLooseModes: an existing trail whose directory is 0755
// and file 0644 opens, with a warning for each that names the path, the
// mode and the chmod that fixes it.
func TestOpenWarnsOfLooseModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data.audit")
	l, err := Open(Config{Dir: dir, PruneEvery: -1})
	require.NoError(t, err)
	require.NoError(t, l.Close())
	file := filepath.Join(dir, FileName)
	require.NoError(t, os.Chmod(dir, 0o755))
	require.NoError(t, os.Chmod(file, 0o644))

	var logs logtest.Buffer
	l, err = Open(Config{Dir: dir, PruneEvery: -1, Logger: zerolog.New(&logs)})
	require.NoError(t, err, "a warning, not a refusal")
	require.NoError(t, l.Close())
	out := logs.String()
	assert.Contains(t, out, `"level":"warn"`)
	assert.Contains(t, out, `"mode":"0755"`)
	assert.Contains(t, out, "chmod 700 "+dir)
	assert.Contains(t, out, `"mode":"0644"`)
	assert.Contains(t, out, "chmod 600 "+file)

	require.NoError(t, os.Chmod(dir, DirMode))
	require.NoError(t, os.Chmod(file, FileMode))
	logs = logtest.Buffer{}
	l, err = Open(Config{Dir: dir, PruneEvery: -1, Logger: zerolog.New(&logs)})
	require.NoError(t, err)
	require.NoError(t, l.Close())
	assert.NotContains(t, logs.String(), "chmod", "private modes: no warning")
}

// TestPruneKeepsTrailPrivate: the copy that replaces the trail when it is
// pruned is 0600, even over a copy an interrupted pruning left at 0644.
func TestPruneKeepsTrailPrivate(t *testing.T) {
	dir := t.TempDir()
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	l, err := Open(Config{Dir: dir, Now: c.now, Retention: time.Hour, PruneEvery: -1})
	require.NoError(t, err)
	defer l.Close()
	for range 3 {
		_, err := l.Append(context.Background(), Entry{Principal: "p", Action: Fetched, MessageID: "m"})
		require.NoError(t, err)
	}
	leftover := filepath.Join(dir, FileName+".prune")
	require.NoError(t, os.WriteFile(leftover, nil, 0o644))
	require.NoError(t, os.Chmod(leftover, 0o644))
	c.add(2 * time.Hour)
	removed, err := l.Prune(context.Background())
	require.NoError(t, err)
	require.Equal(t, 3, removed, "the file was replaced")
	fi, err := os.Stat(filepath.Join(dir, FileName))
	require.NoError(t, err)
	assert.Equal(t, FileMode, fi.Mode().Perm())
}
