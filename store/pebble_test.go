package store_test

import (
	"context"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/knooppunt/knooppunt/store"
	"github.com/knooppunt/knooppunt/store/storetest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func openMem(t *testing.T, o storetest.Options) store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), store.Config{
		Dir: "db", FS: vfs.NewMem(), Now: o.Now,
		VisibilityTimeout: o.VisibilityTimeout, MaxDeliveries: o.MaxDeliveries,
		PayloadRetention: o.PayloadRetention, MetadataRetention: o.MetadataRetention,
	})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

func TestContract(t *testing.T) {
	storetest.Run(t, openMem)
}
