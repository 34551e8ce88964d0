package audit

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPeriodicPrune: an open trail applies its retention by itself, not
// only when its owner calls Prune, and records each pruning in the chain.
func TestPeriodicPrune(t *testing.T) {
	dir := t.TempDir()
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	l, err := Open(Config{Dir: dir, Now: c.now, Retention: 24 * time.Hour, PruneEvery: time.Millisecond})
	require.NoError(t, err)
	defer l.Close()
	for i := range 5 {
		_, err := l.Append(context.Background(), Entry{Principal: "p", Action: Fetched, MessageID: fmt.Sprint(i)})
		require.NoError(t, err)
	}
	c.add(48 * time.Hour)
	require.Eventually(t, func() bool {
		entries, _, err := l.Query(context.Background(), Filter{Action: Pruned})
		return err == nil && len(entries) > 0
	}, 30*time.Second, time.Millisecond, "the trail pruned itself")
	require.NoError(t, l.Close())
	require.NoError(t, l.Close(), "twice is safe")
	res, err := Verify(dir)
	require.NoError(t, err)
	assert.Equal(t, uint64(6), res.First, "the five old entries are gone; the chain still verifies")
}

// TestPruneNeverFailsAppends: appends racing with prunings that swap the
// file all succeed (an appender whose file was swapped is covered by the
// sync Prune made before the swap), and the chain verifies after.
func TestPruneNeverFailsAppends(t *testing.T) {
	dir := t.TempDir()
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	l, err := Open(Config{Dir: dir, Now: c.now, Retention: time.Hour, PruneEvery: -1})
	require.NoError(t, err)
	defer l.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 400)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				if _, err := l.Append(context.Background(), Entry{Principal: "p", Action: Fetched, MessageID: fmt.Sprint(w, "-", i)}); err != nil {
					errs <- err
				}
			}
		}()
	}
	removed := 0
	for range 20 {
		c.add(2 * time.Hour) // everything so far is past retention
		n, err := l.Prune(context.Background())
		require.NoError(t, err)
		removed += n
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	require.NoError(t, l.Close())
	res, err := Verify(dir)
	require.NoError(t, err)
	assert.Positive(t, removed)
	assert.Equal(t, res.Last-res.First+1, uint64(res.Entries))
}

// TestVerifyReader checks a copy of the trail in memory, as VerifyFile
// checks the file, and finds a change in it.
func TestVerifyReader(t *testing.T) {
	dir := t.TempDir()
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := openTest(t, dir, c)
	for i := range 3 {
		_, err := l.Append(context.Background(), Entry{Principal: "p", Action: Confirmed, MessageID: fmt.Sprint(i)})
		require.NoError(t, err)
	}
	require.NoError(t, l.Close())
	raw, err := os.ReadFile(filepath.Join(dir, FileName))
	require.NoError(t, err)
	want, err := Verify(dir)
	require.NoError(t, err)
	got, err := VerifyReader(bytes.NewReader(raw))
	require.NoError(t, err)
	assert.Equal(t, want, got)
	_, err = VerifyReader(bytes.NewReader(bytes.Replace(raw, []byte(`"message_id":"1"`), []byte(`"message_id":"7"`), 1)))
	require.ErrorIs(t, err, ErrTampered)
}
