package node

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/insight"
	"github.com/knooppunt/knooppunt/store/pebble"
	"github.com/knooppunt/knooppunt/stuurinfo"
)

// TestStateFilesInsideTheDataDirectory: by default the products keep their
// state in products/ inside the data directory (state at the earlier
// default beside it is moved in), and a state file in use by one switch
// is refused to another.
func TestStateFilesInsideTheDataDirectory(t *testing.T) {
	root := t.TempDir()
	data := filepath.Join(root, "data")
	// State of an earlier build, beside the data directory.
	require.NoError(t, stuurinfo.NewAggregates(nil).SaveFile(filepath.Join(root, "stuurinfo.gob")))
	start := func(data, file string) (*Node, error) {
		return Start(context.Background(), Config{Dev: true, Addr: "127.0.0.1:0",
			Store:   pebble.Config{Dir: data},
			Insight: InsightConfig{Enabled: true, File: file},
			Logger:  zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.ErrorLevel)})
	}
	n, err := start(data, "")
	require.NoError(t, err)
	assert.FileExists(t, filepath.Join(data, insight.ProductsDir, "stuurinfo.gob"), "moved in")
	assert.NoFileExists(t, filepath.Join(root, "stuurinfo.gob"))
	require.NoError(t, n.Close())
	_, err = os.Stat(filepath.Join(data, insight.ProductsDir, "samenloop.gob"))
	require.NoError(t, err, "saved inside the data directory")

	shared := filepath.Join(root, "shared.gob")
	a, err := start(filepath.Join(root, "a"), shared)
	require.NoError(t, err)
	defer a.Close()
	_, err = start(filepath.Join(root, "b"), shared)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "another knooppunt process holds the lock on "+shared)
	require.NoError(t, a.Close())
	b, err := start(filepath.Join(root, "b"), shared)
	require.NoError(t, err, "free once the first has stopped")
	require.NoError(t, b.Close())
}
