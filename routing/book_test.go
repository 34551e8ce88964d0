package routing

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBookReload(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "registry.yaml")
	b := NewBook(DevRegistry())
	dev := b.Registry()

	good, err := os.ReadFile("testdata/registry.example.yaml")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, good, 0o600))
	require.NoError(t, b.Reload(path))
	loaded := b.Registry()
	require.NotSame(t, dev, loaded)
	_, ok := loaded.Party("swv-isd-waterweg")
	assert.True(t, ok, "the new registry is in force")

	// A file with several problems keeps the registry in force and
	// reports them all.
	bad := "tokens: true\nparties:\n  - {code: \"384\", role: gemeente, name: x}\n  - {code: \"0384\", role: gemeente}\n"
	require.NoError(t, os.WriteFile(path, []byte(bad), 0o600))
	err = b.Reload(path)
	var ce *ConfigError
	require.ErrorAs(t, err, &ce)
	assert.Len(t, ce.Problems, 2)
	assert.Contains(t, err.Error(), path)
	assert.Same(t, loaded, b.Registry())

	// So does a file with an unknown key, and a missing file.
	require.NoError(t, os.WriteFile(path, append(good, "extra: 1\n"...), 0o600))
	require.ErrorAs(t, b.Reload(path), &ce)
	assert.Same(t, loaded, b.Registry())
	err = b.Reload(filepath.Join(dir, "missing.yaml"))
	assert.True(t, errors.Is(err, os.ErrNotExist))
	assert.Same(t, loaded, b.Registry())
}

// TestBookConcurrent reloads while readers route; run with -race.
func TestBookConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "registry.yaml")
	good, err := os.ReadFile("testdata/registry.example.yaml")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, good, 0o600))
	b := NewBook(DevRegistry())

	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				r := b.Registry()
				_, ok := r.MailboxOf("0384")
				assert.True(t, ok)
			}
		}()
	}
	for range 20 {
		require.NoError(t, b.Reload(path))
	}
	wg.Wait()
}
