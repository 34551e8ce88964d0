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
	raw, _ := writeTrail(t, dir, "0", "1", "2")
	want, err := Verify(dir)
	require.NoError(t, err)
	got, err := VerifyReader(bytes.NewReader(raw))
	require.NoError(t, err)
	assert.Equal(t, want, got)
	_, err = VerifyReader(bytes.NewReader(bytes.Replace(raw, []byte(`"message_id":"1"`), []byte(`"message_id":"7"`), 1)))
	require.ErrorIs(t, err, ErrTampered)
}

// TestVerifyReportsEveryBreak changes, removes and garbles entries in
// three places of one trail and expects each place reported once, with its
// line, rather than only the first.
func TestVerifyReportsEveryBreak(t *testing.T) {
	raw, _ := writeTrail(t, t.TempDir(), "0", "1", "2", "3", "4", "5", "6", "7", "8", "9")
	lines := bytes.SplitAfter(raw, []byte("\n"))
	lines = lines[:len(lines)-1] // the empty remainder after the last newline

	lines[1] = bytes.Replace(lines[1], []byte(`"message_id":"1"`), []byte(`"message_id":"7"`), 1) // changed: line 2
	lines[6] = []byte("{not json\n")                                                              // garbled: seq 7
	tampered := bytes.Join(append(lines[:3:3], lines[4:]...), nil)                                // seq 4 removed: seq 5 on line 4, seq 7 on 6

	res, err := VerifyReader(bytes.NewReader(tampered))
	require.ErrorIs(t, err, ErrTampered)
	require.Len(t, res.Breaks, 3, "%v", res.Breaks)
	assert.Equal(t, Break{Line: 2, Seq: 2, Reason: "the entry does not match its hash"}, res.Breaks[0])
	assert.Equal(t, 4, res.Breaks[1].Line)
	assert.Equal(t, uint64(5), res.Breaks[1].Seq)
	assert.Contains(t, res.Breaks[1].Reason, "seq 5 follows 3")
	assert.Equal(t, Break{Line: 6, Reason: "unreadable entry"}, res.Breaks[2])
	assert.Contains(t, err.Error(), "line 2 (seq 2)")
	assert.Contains(t, err.Error(), "and 2 more")
	assert.Equal(t, uint64(10), res.Last, "the check goes on to the end")
}

// TestVerifyThrough holds a trail to a head recorded earlier: it passes
// while the chain runs through it and fails once the tail is cut off or
// the trail replaced by another of the same length.
func TestVerifyThrough(t *testing.T) {
	ids := []string{"a", "b", "c", "d", "e", "f", "g", "h"}
	raw, heads := writeTrail(t, t.TempDir(), ids...)
	head := heads[5]
	other := append([]string{"x"}, ids[1:]...)
	replaced, _ := writeTrail(t, t.TempDir(), other...)

	res, err := VerifyThrough(bytes.NewReader(raw), head)
	require.NoError(t, err)
	assert.Equal(t, HeadFound, res.Expected)
	res, err = VerifyThrough(bytes.NewReader(raw), Head{Hash: head.Hash})
	require.NoError(t, err, "a hash alone is looked for anywhere")
	assert.Equal(t, HeadFound, res.Expected)

	lines := bytes.SplitAfter(raw, []byte("\n"))
	cut := bytes.Join(lines[:4], nil)
	res, err = VerifyThrough(bytes.NewReader(cut), head)
	require.ErrorIs(t, err, ErrTampered, "a cut-off trail is an intact chain, but not through the head")
	assert.Equal(t, HeadMissing, res.Expected)
	assert.Contains(t, err.Error(), "cut off")

	res, err = VerifyThrough(bytes.NewReader(replaced), head)
	require.ErrorIs(t, err, ErrTampered)
	assert.Equal(t, HeadMissing, res.Expected)
	assert.Contains(t, err.Error(), "replaced")
}

// writeTrail writes a trail in dir with one Confirmed entry per message
// id and returns its bytes and the head after each entry.
func writeTrail(t *testing.T, dir string, ids ...string) ([]byte, []Head) {
	t.Helper()
	l := openTest(t, dir, &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
	heads := make([]Head, len(ids))
	for i, id := range ids {
		_, err := l.Append(context.Background(), Entry{Principal: "p", Action: Confirmed, MessageID: id})
		require.NoError(t, err)
		heads[i].Seq, heads[i].Hash = l.Head()
	}
	require.NoError(t, l.Close())
	raw, err := os.ReadFile(filepath.Join(dir, FileName))
	require.NoError(t, err)
	return raw, heads
}
