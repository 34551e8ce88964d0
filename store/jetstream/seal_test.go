package jetstream_test

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/store"
	"github.com/knooppunt/knooppunt/store/jetstream"
	"github.com/knooppunt/knooppunt/store/jetstream/natstest"
	"github.com/knooppunt/knooppunt/store/storetest"
)

// TestContractSealed: the whole contract holds with bodies sealed.
func TestContractSealed(t *testing.T) {
	keys, _ := storetest.NewKeyring(t)
	storetest.Run(t, func(t *testing.T, o storetest.Options) store.Store {
		srv := natstest.Start(t)
		s, err := jetstream.Open(context.Background(), jetstream.Config{
			URL: srv.ClientURL(), Replicas: 1, Now: o.Now, Keys: keys, Policy: janitorHourly(o.Policy),
		})
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, s.Close()) })
		return s
	})
}

// TestStreamRevealsNoBSN: with a keyring the server's files hold no BSN,
// name or address of the messages stored, which read back exactly; a
// client without the key cannot read them, and Follow hands them over
// without content rather than in the clear.
func TestStreamRevealsNoBSN(t *testing.T) {
	ctx := context.Background()
	srv := natstest.Start(t)
	secrets := [][]byte{[]byte("999993653"), []byte("Jansen-Vermeulen"), []byte("Kerkstraat")}
	open := func(keys *store.Keyring) *jetstream.Store {
		s, err := jetstream.Open(ctx, jetstream.Config{URL: srv.ClientURL(), Replicas: 1, Keys: keys})
		require.NoError(t, err)
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	keys, _ := storetest.NewKeyring(t)
	s := open(keys)
	var ids []store.ID
	var bodies [][]byte
	for i := range 20 {
		body := fmt.Appendf(nil, "<Bericht><Client><Bsn>999993653</Bsn><Naam>Jansen-Vermeulen</Naam>"+
			"<Straat>Kerkstraat</Straat><Nr>%d</Nr></Client></Bericht>", i)
		r, err := s.Put(ctx, &store.Message{Soort: "WMO301", Sender: "0363", Recipient: "12345678",
			Identificatie: fmt.Sprint("S", i), Body: body})
		require.NoError(t, err)
		ids, bodies = append(ids, r.ID), append(bodies, body)
	}
	for i, id := range ids {
		got, err := s.Get(ctx, "12345678", id)
		require.NoError(t, err)
		assert.Equal(t, bodies[i], got)
	}

	dir := srv.JetStreamConfig().StoreDir
	files := 0
	require.NoError(t, filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		for _, sec := range secrets {
			assert.False(t, bytes.Contains(data, sec), "%s holds %q", path, sec)
		}
		return nil
	}))
	require.Positive(t, files, "the server wrote its files")

	keyless := open(nil)
	_, err := keyless.Get(ctx, "12345678", ids[0])
	assert.ErrorIs(t, err, store.ErrSealed)
	fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	stop := fmt.Errorf("enough")
	err = keyless.Follow(fctx, 0, func(m store.Change) error {
		assert.Nil(t, m.Body, "no key, no content")
		return stop
	})
	assert.ErrorIs(t, err, stop)
}
