package node

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/audit"
	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/insight"
	"github.com/knooppunt/knooppunt/logtest"
	"github.com/knooppunt/knooppunt/sample"
	"github.com/knooppunt/knooppunt/store"
)

// TestNodeFileModes runs a node with encryption at rest and the
// information products on, then stats everything it left beside the key
// file: the store, the audit trail and both state files, every file 0600
// and every directory 0700. Loosened, the store directory and the
// stuurinformatie file are warned about at the next start, which goes on;
// the sealed samenloop state is refused, and so is the key file that
// holds the keys it is sealed with.
func TestNodeFileModes(t *testing.T) {
	cfg, dir, keyFile := sealedConfig(t)
	n, err := Start(context.Background(), cfg)
	require.NoError(t, err)
	defer n.Close()
	s, _ := bericht.Lookup("WMO301")
	m, err := sample.New(5).Heen(s, sample.Options{Afzender: "0363", Ontvanger: "12345678", Products: 1})
	require.NoError(t, err)
	code, body := call(t, "POST", n.URL()+"/v1/berichten", "dev-0363", "application/xml", string(m.XML))
	require.Equal(t, http.StatusAccepted, code, string(body))
	require.NoError(t, n.Shutdown(context.Background()))

	seen := map[string]bool{}
	require.NoError(t, filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == dir {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		want := store.FileMode
		if d.IsDir() {
			want = store.DirMode
		}
		assert.Equal(t, want, fi.Mode().Perm(), path)
		seen[filepath.Base(path)] = true
		return nil
	}))
	for _, name := range []string{"data", "data.audit", audit.FileName, "data.keys", insight.ProductsDir, "stuurinfo.gob", "samenloop.gob"} {
		assert.True(t, seen[name], "%s was written", name)
	}

	data := filepath.Join(dir, "data")
	info, state := filepath.Join(data, insight.ProductsDir, "stuurinfo.gob"), filepath.Join(data, insight.ProductsDir, "samenloop.gob")
	require.NoError(t, os.Chmod(data, 0o755))
	require.NoError(t, os.Chmod(info, 0o644))
	var logs logtest.Buffer
	cfg.Logger = zerolog.New(&logs).Level(zerolog.WarnLevel)
	n, err = Start(context.Background(), cfg)
	require.NoError(t, err, "warnings, not refusals")
	require.NoError(t, n.Shutdown(context.Background()))
	out := logs.String()
	assert.Contains(t, out, "chmod 700 "+data)
	assert.Contains(t, out, info+" has mode 0644")
	assert.Contains(t, out, "chmod 600 "+info)

	require.NoError(t, os.Chmod(state, 0o640))
	_, err = Start(context.Background(), cfg)
	_, ok := errors.AsType[*store.ModeError](err)
	require.True(t, ok, "sealed state open to the group is refused, got %v", err)
	assert.Contains(t, err.Error(), "chmod 600 "+state)
	require.NoError(t, os.Chmod(state, 0o600))

	require.NoError(t, os.Chmod(keyFile, 0o644))
	_, err = Start(context.Background(), cfg)
	assert.ErrorContains(t, err, "chmod 600 "+keyFile, "the key file open to others is refused")
}
