package audit

import (
	"context"
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
	"github.com/knooppunt/knooppunt/store"
)

// withUmask runs the rest of the test under umask mask. The umask is the
// process's: no test in this package runs in parallel.
func withUmask(t *testing.T, mask int) {
	old := syscall.Umask(mask)
	t.Cleanup(func() { syscall.Umask(old) })
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
				filepath.Join(base, "node"):  store.DirMode,
				dir:                          store.DirMode,
				filepath.Join(dir, FileName): store.FileMode,
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

	require.NoError(t, os.Chmod(dir, store.DirMode))
	require.NoError(t, os.Chmod(file, store.FileMode))
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
	assert.Equal(t, store.FileMode, fi.Mode().Perm())
}
