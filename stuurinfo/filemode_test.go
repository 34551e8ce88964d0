package stuurinfo

import (
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSaveFileIsPrivate: the aggregates file is 0600 whatever the umask:
// a permissive one, and one that takes the owner's bits too.
func TestSaveFileIsPrivate(t *testing.T) {
	for _, mask := range []int{0, 0o277} {
		t.Run(strconv.FormatInt(int64(mask), 8), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "stuurinfo.gob")
			old := syscall.Umask(mask)
			err := NewAggregates(time.UTC).SaveFile(path)
			syscall.Umask(old)
			require.NoError(t, err)
			fi, err := os.Stat(path)
			require.NoError(t, err)
			assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
		})
	}
}
