package audit

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/store"
)

// TestCopyTrail: the copy holds every complete entry and verifies to the
// trail's head; a line being appended at the moment of the copy (no
// newline yet) is left out; the copy is private; an existing copy is not
// overwritten.
func TestCopyTrail(t *testing.T) {
	src := t.TempDir()
	raw, heads := writeTrail(t, src, "A", "B", "C")
	path := filepath.Join(src, FileName)
	require.NoError(t, os.WriteFile(path, append(raw, []byte(`{"seq":4,"time":"2026-01-01T00:00:00Z","princ`)...), 0o600))

	dst := filepath.Join(t.TempDir(), "backup", "audit")
	r, err := CopyTrail(src, dst)
	require.NoError(t, err)
	assert.Equal(t, 3, r.Entries)
	assert.Equal(t, heads[2].Seq, r.Last)
	assert.Equal(t, heads[2].Hash, r.Head)
	got, err := os.ReadFile(filepath.Join(dst, FileName))
	require.NoError(t, err)
	assert.Equal(t, raw, got, "the complete entries, byte for byte")
	require.NoError(t, store.CheckMode(filepath.Join(dst, FileName)))
	require.NoError(t, store.CheckMode(dst))

	_, err = CopyTrail(src, dst)
	assert.Error(t, err, "a copy is never overwritten")
}
