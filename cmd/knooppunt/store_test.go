package main

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/store"
	"github.com/knooppunt/knooppunt/store/jetstream"
	"github.com/knooppunt/knooppunt/store/jetstream/natstest"
	"github.com/knooppunt/knooppunt/store/pebble"
	"github.com/knooppunt/knooppunt/store/storetest"
)

func TestStoreMigrate(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clock := storetest.NewClock(time.Now().UTC())
	src, err := pebble.Open(ctx, pebble.Config{Dir: dir, Now: clock.Now, Policy: store.Policy{MaxDeliveries: 1, VisibilityTimeout: time.Minute}})
	require.NoError(t, err)
	put := func(m *store.Message) store.ID {
		r, err := src.Put(ctx, m)
		require.NoError(t, err)
		return r.ID
	}
	var pending []store.ID
	for i := range 5 {
		pending = append(pending, put(storetest.Msg("12345678", "0363", "WMO315", fmt.Sprint("P", i), "")))
	}
	heen := put(storetest.Msg("12345678", "0599", "WMO315", "H", ""))
	retour := storetest.Msg("0599", "12345678", "WMO316", "R", "")
	retour.Answers = heen
	answer := put(retour)
	require.NoError(t, src.Ack(ctx, "0599", heen))
	q := put(storetest.Msg("12345678", "0344", "WMO315", "Q", ""))
	_, err = src.List(ctx, "0344", 10)
	require.NoError(t, err)
	clock.Advance(2 * time.Minute)
	l, err := src.List(ctx, "0344", 10)
	require.NoError(t, err)
	require.Empty(t, l, "quarantined")
	require.NoError(t, src.Close())

	srv := natstest.Start(t)
	args := []string{"migrate", "--from", dir, "--to", srv.ClientURL(), "--replicas", "1"}
	var out, errb bytes.Buffer
	require.Equal(t, 0, runStore(args, nil, &out, &errb), "stdout:\n%s\nstderr:\n%s", out.String(), errb.String())
	assert.Contains(t, out.String(), "source: 8 messages (6 pending, 1 quarantined, 1 confirmed, 0 without payload)")
	assert.Contains(t, out.String(), "imported 8, already present 0, failed 0")
	assert.Contains(t, out.String(), "verified")
	assert.Contains(t, errb.String(), "8 of 8 messages (100%)", "progress on stderr")
	lines := strings.Split(out.String(), "\n")
	require.GreaterOrEqual(t, len(lines), 2)
	assert.Equal(t, strings.TrimPrefix(lines[0], "source: "), strings.TrimPrefix(lines[1], "target: "), "counts and digest agree")

	out.Reset()
	require.Equal(t, 0, runStore(args, nil, &out, &errb), "a second run is safe: %s", errb.String())
	assert.Contains(t, out.String(), "imported 0, already present 8, failed 0")

	dst, err := jetstream.Open(ctx, jetstream.Config{URL: srv.ClientURL(), Replicas: 1})
	require.NoError(t, err)
	defer dst.Close()
	assert.Equal(t, int64(6), dst.Stats().Pending)
	assert.Equal(t, int64(1), dst.Stats().Quarantined)
	list, err := dst.List(ctx, "0363", 10)
	require.NoError(t, err)
	got := make([]store.ID, len(list))
	for i, e := range list {
		got[i] = e.ID
	}
	assert.Equal(t, pending, got, "ids and order kept")
	body, err := dst.Get(ctx, "0363", pending[0])
	require.NoError(t, err)
	assert.Equal(t, storetest.Msg("12345678", "0363", "WMO315", "P0", "").Body, body)
	conv, err := dst.Conversation(ctx, answer)
	require.NoError(t, err)
	require.Len(t, conv, 2)
	assert.Equal(t, heen, conv[0].ID)
	m, err := dst.Lookup(ctx, store.Key{Sender: "12345678", Soort: "WMO315", Identificatie: "Q"})
	require.NoError(t, err)
	assert.Equal(t, q, m.ID)
	assert.Equal(t, store.StateQuarantined, m.State)
	n, err := dst.Put(ctx, storetest.Msg("12345678", "0363", "WMO315", "NEW", ""))
	require.NoError(t, err)
	assert.Positive(t, bytes.Compare(n.ID[:], q[:]), "new ids above the migrated")

	// A second stream beside the first needs a subject prefix of its own.
	out.Reset()
	errb.Reset()
	beside := append(slices.Clone(args), "--stream", "MIG")
	require.NotEqual(t, 0, runStore(beside, nil, &out, &errb), "a stream over the first one's subjects: %s", out.String())
	out.Reset()
	errb.Reset()
	require.Equal(t, 0, runStore(append(beside, "--subject", "mig"), nil, &out, &errb), "stderr:\n%s", errb.String())
	assert.Contains(t, out.String(), "imported 8, already present 0, failed 0")
	mig, err := jetstream.Open(ctx, jetstream.Config{URL: srv.ClientURL(), Replicas: 1, Stream: "MIG", Subject: "mig"})
	require.NoError(t, err)
	defer mig.Close()
	assert.Equal(t, int64(6), mig.Stats().Pending, "the copy")
	assert.Equal(t, int64(7), dst.Stats().Pending, "the first stream, untouched")
}

func TestStoreMigrateUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"export"}, {"migrate"}, {"migrate", "--from", "x"}} {
		var out, errb bytes.Buffer
		assert.Equal(t, 2, runStore(args, nil, &out, &errb), "%v", args)
		assert.Contains(t, errb.String(), "Usage: knooppunt store migrate")
	}
}

// TestStoreMigrateSealed: an encrypted Pebble store migrates with its key
// file; without it the migration refuses, and in the cluster the bodies
// are sealed again (a keyless client cannot read them).
func TestStoreMigrateSealed(t *testing.T) {
	ctx := context.Background()
	keys, keyPath := storetest.NewKeyring(t)
	dir := t.TempDir()
	src, err := pebble.Open(ctx, pebble.Config{Dir: dir, Keys: keys})
	require.NoError(t, err)
	msg := storetest.Msg("12345678", "0363", "WMO315", "S1", "")
	r, err := src.Put(ctx, msg)
	require.NoError(t, err)
	require.NoError(t, src.Close())

	srv := natstest.Start(t)
	args := []string{"migrate", "--from", dir, "--to", srv.ClientURL(), "--replicas", "1"}
	var out, errb bytes.Buffer
	require.Equal(t, 1, runStore(args, nil, &out, &errb), "sealed bodies cannot be read without the keys")
	out.Reset()
	require.Equal(t, 0, runStore(append(args, "--key-file", keyPath), nil, &out, &errb), "stdout:\n%s\nstderr:\n%s", out.String(), errb.String())
	assert.Contains(t, out.String(), "verified")

	sealed, err := jetstream.Open(ctx, jetstream.Config{URL: srv.ClientURL(), Replicas: 1, Keys: keys})
	require.NoError(t, err)
	defer sealed.Close()
	body, err := sealed.Get(ctx, "0363", r.ID)
	require.NoError(t, err)
	assert.Equal(t, msg.Body, body)
	keyless, err := jetstream.Open(ctx, jetstream.Config{URL: srv.ClientURL(), Replicas: 1})
	require.NoError(t, err)
	defer keyless.Close()
	_, err = keyless.Get(ctx, "0363", r.ID)
	assert.ErrorIs(t, err, store.ErrSealed, "sealed again in the cluster")
}

// TestStoreMigrateRefusesUnmovedRecords: a store whose feed holds
// receptions not yet in the audit trail (its node was killed) is not
// migrated; the JetStream store could not take them to the trail.
func TestStoreMigrateRefusesUnmovedRecords(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src, err := pebble.Open(ctx, pebble.Config{Dir: dir})
	require.NoError(t, err)
	m := storetest.Msg("12345678", "0363", "WMO315", "A", "")
	m.Reception = &store.Reception{Principal: "12345678", At: time.Now()}
	_, err = src.Put(ctx, m)
	require.NoError(t, err)
	require.NoError(t, src.Close())

	srv := natstest.Start(t)
	var out, errb bytes.Buffer
	code := runStore([]string{"migrate", "--from", dir, "--to", srv.ClientURL(), "--replicas", "1"}, nil, &out, &errb)
	assert.NotEqual(t, 0, code)
	assert.Contains(t, errb.String()+out.String(), "receptions not yet in the audit trail")
}
