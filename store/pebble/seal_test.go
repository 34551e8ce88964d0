package pebble_test

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/store"
	"github.com/knooppunt/knooppunt/store/pebble"
	"github.com/knooppunt/knooppunt/store/storetest"
)

// TestContractSealed: the whole contract holds with bodies sealed.
func TestContractSealed(t *testing.T) {
	keys, _ := storetest.NewKeyring(t)
	storetest.Run(t, func(t *testing.T, o storetest.Options) store.Store {
		s, err := pebble.Open(context.Background(), pebble.Config{
			Dir: "db", FS: vfs.NewMem(), Now: o.Now, Keys: keys, Policy: o.Policy,
		})
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, s.Close()) })
		return s
	})
}

// secrets are the personal data the stolen-directory test looks for.
var secrets = [][]byte{[]byte("999993653"), []byte("Jansen-Vermeulen"), []byte("Kerkstraat")}

func bodyWithSecrets(i int) []byte {
	return fmt.Appendf(nil, "<Bericht><Client><Bsn>999993653</Bsn><Naam>Jansen-Vermeulen</Naam>"+
		"<Straat>Kerkstraat</Straat><Nr>%d</Nr></Client></Bericht>", i)
}

// grepDir returns the files under dir that contain any secret.
func grepDir(t *testing.T, dir string) []string {
	t.Helper()
	var hits []string
	require.NoError(t, filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, s := range secrets {
			if bytes.Contains(raw, s) {
				hits = append(hits, fmt.Sprintf("%s holds %q", filepath.Base(path), s))
			}
		}
		return nil
	}))
	return hits
}

// TestStolenDataDirRevealsNoBSN writes messages with a known BSN, name and
// street to a store on disk — WAL only, then flushed to sstables by a
// reopen — and reads every raw file. The run without a keyring is the
// control: it must find them, or the test could not fail.
func TestStolenDataDirRevealsNoBSN(t *testing.T) {
	keys, _ := storetest.NewKeyring(t)
	for _, tt := range []struct {
		name  string
		keys  *store.Keyring
		clear bool
	}{
		{"sealed", keys, false},
		{"control: no keyring", nil, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			dir := filepath.Join(t.TempDir(), "data")
			cfg := pebble.Config{Dir: dir, Keys: tt.keys, MemTableSize: 1 << 20}
			s, err := pebble.Open(ctx, cfg)
			require.NoError(t, err)
			var ids []store.ID
			for i := range 300 { // > 1 MiB memtable: some flush to sstables while open
				m := storetest.Msg("12345678", "0363", "WMO315", fmt.Sprint("ID-", i), "")
				m.Body = append(bodyWithSecrets(i), bytes.Repeat([]byte(" "), 4096)...)
				r, err := s.Put(ctx, m)
				require.NoError(t, err)
				ids = append(ids, r.ID)
			}
			hits := grepDir(t, dir) // WAL and whatever was flushed, store open
			require.NoError(t, s.Close())
			hits = append(hits, grepDir(t, dir)...)

			s, err = pebble.Open(ctx, cfg) // replays the WAL into sstables
			require.NoError(t, err)
			body, err := s.Get(ctx, "0363", ids[7])
			require.NoError(t, err)
			assert.True(t, bytes.HasPrefix(body, bodyWithSecrets(7)), "the recipient still reads the message")
			require.NoError(t, s.Check(ctx))
			require.NoError(t, s.Close())
			hits = append(hits, grepDir(t, dir)...)
			if tt.clear {
				assert.NotEmpty(t, hits, "the control finds the data in the clear")
			} else {
				assert.Empty(t, hits)
			}
		})
	}
}

func TestKeyRotationWithoutDowntime(t *testing.T) {
	ctx := context.Background()
	keys, path := storetest.NewKeyring(t)
	first := keys.Active()
	s, err := pebble.Open(ctx, pebble.Config{Dir: "db", FS: vfs.NewMem(), Keys: keys})
	require.NoError(t, err)
	defer s.Close()
	put := func(ident string) store.ID {
		m := storetest.Msg("12345678", "0363", "WMO315", ident, "")
		r, err := s.Put(ctx, m)
		require.NoError(t, err)
		return r.ID
	}
	old := put("before")

	second, err := store.AddKey(path, time.Now())
	require.NoError(t, err)
	require.NotEqual(t, first, second)
	require.NoError(t, keys.Reload())
	assert.Equal(t, second, keys.Active())
	fresh := put("after")

	for ident, id := range map[string]store.ID{"before": old, "after": fresh} {
		body, err := s.Get(ctx, "0363", id)
		require.NoError(t, err)
		assert.Contains(t, string(body), ident)
	}

	n, err := s.Reseal(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n, "only the body under the old key is rewritten")
	n, err = s.Reseal(ctx)
	require.NoError(t, err)
	assert.Zero(t, n)

	// Retire the first key: everything is readable without it now.
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	var kept [][]byte
	for _, line := range bytes.Split(raw, []byte("\n")) {
		if !bytes.HasPrefix(line, []byte(first+" ")) {
			kept = append(kept, line)
		}
	}
	require.NoError(t, os.WriteFile(path, bytes.Join(kept, []byte("\n")), 0o600))
	require.NoError(t, keys.Reload())
	for _, id := range []store.ID{old, fresh} {
		_, err := s.Get(ctx, "0363", id)
		require.NoError(t, err)
	}
	require.NoError(t, s.Check(ctx))
}

func TestSealedBodyNeedsItsKey(t *testing.T) {
	ctx := context.Background()
	keys, _ := storetest.NewKeyring(t)
	fsys := vfs.NewMem()
	s, err := pebble.Open(ctx, pebble.Config{Dir: "db", FS: fsys, Keys: keys})
	require.NoError(t, err)
	r, err := s.Put(ctx, storetest.Msg("12345678", "0363", "WMO315", "X", ""))
	require.NoError(t, err)
	require.NoError(t, s.Close())

	other, _ := storetest.NewKeyring(t)
	for name, k := range map[string]*store.Keyring{"no keyring": nil, "other keys": other} {
		t.Run(name, func(t *testing.T) {
			s, err := pebble.Open(ctx, pebble.Config{Dir: "db", FS: fsys, Keys: k})
			require.NoError(t, err)
			defer s.Close()
			_, err = s.Get(ctx, "0363", r.ID)
			assert.ErrorIs(t, err, store.ErrSealed)
		})
	}
}

func TestKeyFileChecks(t *testing.T) {
	dir := t.TempDir()
	good := "k1 " + "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=" // 32 bytes
	tests := []struct {
		name, content string
		mode          os.FileMode
		ok            bool
	}{
		{"one key", good + "\n", 0o600, true},
		{"comments and blanks", "# keys\n\n" + good + "\n", 0o600, true},
		{"readable by others", good + "\n", 0o644, false},
		{"empty", "# nothing\n", 0o600, false},
		{"short key", "k1 MDEy\n", 0o600, false},
		{"not base64", "k1 !!!\n", 0o600, false},
		{"bad id", "k/1 MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\n", 0o600, false},
		{"duplicate id", good + "\n" + good + "\n", 0o600, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.name)
			require.NoError(t, os.WriteFile(path, []byte(tt.content), tt.mode))
			require.NoError(t, os.Chmod(path, tt.mode))
			k, err := store.LoadKeyring(path)
			if tt.ok {
				require.NoError(t, err)
				assert.Equal(t, "k1", k.Active())
			} else {
				assert.ErrorIs(t, err, store.ErrInvalid)
			}
		})
	}
}

// BenchmarkSealedPutGet measures the cost of encryption at rest on Put and
// Get beside the same store in the clear (memory file system, so the seal
// is not hidden behind fsync).
func BenchmarkSealedPutGet(b *testing.B) {
	keys, _ := storetest.NewKeyring(b)
	body := append(bodyWithSecrets(0), bytes.Repeat([]byte("x"), 8<<10)...)
	for _, mode := range []struct {
		name string
		keys *store.Keyring
	}{{"clear", nil}, {"sealed", keys}} {
		ctx := context.Background()
		s, err := pebble.Open(ctx, pebble.Config{Dir: "db", FS: vfs.NewMem(), Keys: mode.keys})
		require.NoError(b, err)
		var id store.ID
		b.Run("Put/"+mode.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for i := 0; b.Loop(); i++ {
				m := storetest.Msg("12345678", "0363", "WMO315", fmt.Sprint("ID-", i), "")
				m.Body = body
				r, err := s.Put(ctx, m)
				if err != nil {
					b.Fatal(err)
				}
				id = r.ID
			}
		})
		b.Run("Get/"+mode.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := s.Get(ctx, "0363", id); err != nil {
					b.Fatal(err)
				}
			}
		})
		require.NoError(b, s.Close())
	}
}
