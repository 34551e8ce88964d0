package audit

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func openTest(t *testing.T, dir string, c *clock) *Log {
	t.Helper()
	l, err := Open(Config{Dir: dir, Now: c.now, Retention: 30 * 24 * time.Hour})
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	return l
}

// fill appends n entries, one minute apart.
func fill(t *testing.T, l *Log, c *clock, n int) {
	t.Helper()
	actions := []Action{Received, Fetched, Confirmed, TraceViewed}
	for i := range n {
		_, err := l.Append(context.Background(), Entry{
			Principal: fmt.Sprintf("party-%d", i%3), Action: actions[i%len(actions)],
			MessageID: fmt.Sprintf("msg-%d", i), Remote: "192.0.2.1:4000"})
		require.NoError(t, err)
		c.add(time.Minute)
	}
}

func TestAppendChainsAndSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := openTest(t, dir, c)
	fill(t, l, c, 5)
	seq, head := l.Head()
	require.Equal(t, uint64(5), seq)
	require.NoError(t, l.Close())
	require.NoError(t, l.Close(), "Close is safe twice")

	l2 := openTest(t, dir, c)
	seq2, head2 := l2.Head()
	assert.Equal(t, seq, seq2)
	assert.Equal(t, head, head2)
	e, err := l2.Append(context.Background(), Entry{Principal: "p", Action: ConfigChanged})
	require.NoError(t, err)
	assert.Equal(t, uint64(6), e.Seq)
	assert.Equal(t, head, e.Prev)

	res, err := Verify(dir)
	require.NoError(t, err)
	assert.Equal(t, 6, res.Entries)
	assert.Equal(t, e.Hash, res.Head)
}

func TestAppendRefusesIncompleteEntries(t *testing.T) {
	c := &clock{t: time.Now()}
	l := openTest(t, t.TempDir(), c)
	_, err := l.Append(context.Background(), Entry{Action: Fetched})
	assert.ErrorIs(t, err, ErrInvalid)
	_, err = l.Append(context.Background(), Entry{Principal: "p"})
	assert.ErrorIs(t, err, ErrInvalid)
	require.NoError(t, l.Close())
	_, err = l.Append(context.Background(), Entry{Principal: "p", Action: Fetched})
	assert.ErrorIs(t, err, ErrClosed)
}

func TestConcurrentAppendsFormOneChain(t *testing.T) {
	dir := t.TempDir()
	c := &clock{t: time.Now()}
	l := openTest(t, dir, c)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 25 {
				_, err := l.Append(context.Background(), Entry{Principal: fmt.Sprint("p", g), Action: Fetched, MessageID: fmt.Sprint(i)})
				assert.NoError(t, err)
			}
		})
	}
	wg.Wait()
	res, err := Verify(dir)
	require.NoError(t, err)
	assert.Equal(t, 200, res.Entries)
}

// TestAppendAll: a batch lands in order, with the times it carries, on
// one chain with the appends around it; an incomplete entry refuses the
// whole batch before anything is written.
func TestAppendAll(t *testing.T) {
	dir := t.TempDir()
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := openTest(t, dir, c)
	ctx := context.Background()
	_, err := l.Append(ctx, Entry{Principal: "p", Action: ConfigChanged})
	require.NoError(t, err)
	at := time.Date(2025, 12, 31, 23, 59, 0, 123456789, time.FixedZone("CET", 3600))
	var batch []Entry
	for i := range 700 { // more than one group
		batch = append(batch, Entry{Principal: "0384", Action: Received, MessageID: fmt.Sprint("M", i), Time: at})
	}
	require.NoError(t, l.AppendAll(ctx, batch))
	err = l.AppendAll(ctx, []Entry{{Principal: "p", Action: Fetched}, {Action: Fetched}})
	require.ErrorIs(t, err, ErrInvalid)
	_, err = l.Append(ctx, Entry{Principal: "p", Action: ConfigChanged})
	require.NoError(t, err)
	page, _, err := l.Query(ctx, Filter{Action: Received, Limit: MaxQueryLimit})
	require.NoError(t, err)
	require.Len(t, page, 700)
	for i, e := range page {
		assert.Equal(t, fmt.Sprint("M", i), e.MessageID)
		assert.True(t, e.Time.Equal(at), "the entry keeps its time")
	}
	seq, _ := l.Head()
	assert.Equal(t, uint64(702), seq, "nothing of the refused batch was written")
	require.NoError(t, l.Close())
	assert.ErrorIs(t, l.AppendAll(ctx, batch[:1]), ErrClosed)
	res, err := Verify(dir)
	require.NoError(t, err)
	assert.Equal(t, 702, res.Entries)
}

// TestVerifyDetectsTampering changes, removes and inserts entries in a
// written trail; each must be found, by Verify and by Open.
func TestVerifyDetectsTampering(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(lines []string) []string
	}{
		{"changed principal", func(l []string) []string {
			l[3] = strings.Replace(l[3], `"principal":"party-0"`, `"principal":"party-9"`, 1)
			return l
		}},
		{"changed message id", func(l []string) []string {
			l[2] = strings.Replace(l[2], `"msg-2"`, `"msg-x"`, 1)
			return l
		}},
		{"removed middle entry", func(l []string) []string { return append(l[:4:4], l[5:]...) }},
		{"removed first entry", func(l []string) []string { return l[1:] }},
		{"removed last entry", nil}, // undetectable from the file alone: checked against the head below
		{"inserted copy", func(l []string) []string {
			return append(l[:5:5], append([]string{l[2]}, l[5:]...)...)
		}},
		{"swapped entries", func(l []string) []string { l[1], l[2] = l[2], l[1]; return l }},
		{"garbage line", func(l []string) []string { l[6] = "{not json"; return l }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
			l := openTest(t, dir, c)
			fill(t, l, c, 10)
			_, head := l.Head()
			require.NoError(t, l.Close())
			path := filepath.Join(dir, FileName)
			raw, err := os.ReadFile(path)
			require.NoError(t, err)
			lines := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
			require.Len(t, lines, 10)

			if tt.tamper == nil {
				lines = lines[:9]
				require.NoError(t, os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600))
				res, err := Verify(dir)
				require.NoError(t, err, "a truncated tail is a valid chain…")
				assert.NotEqual(t, head, res.Head, "…but its head differs from the one recorded outside")
				return
			}
			lines = tt.tamper(lines)
			require.NoError(t, os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600))
			_, err = Verify(dir)
			require.ErrorIs(t, err, ErrTampered)
			_, err = Open(Config{Dir: dir})
			require.ErrorIs(t, err, ErrTampered, "Open refuses to extend a tampered trail")
		})
	}
}

func TestQueryFiltersAndPages(t *testing.T) {
	dir := t.TempDir()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := &clock{t: start}
	l := openTest(t, dir, c)
	fill(t, l, c, 30) // entry i at start+i min, principal party-(i%3), action by i%4

	all := func(f Filter) []Entry {
		var out []Entry
		for {
			page, more, err := l.Query(context.Background(), f)
			require.NoError(t, err)
			out = append(out, page...)
			if !more {
				return out
			}
			require.NotEmpty(t, page)
			f.After = page[len(page)-1].Seq
		}
	}
	tests := []struct {
		name string
		f    Filter
		want func(i int) bool
	}{
		{"everything in pages of 7", Filter{Limit: 7}, func(int) bool { return true }},
		{"principal", Filter{Principal: "party-1", Limit: 4}, func(i int) bool { return i%3 == 1 }},
		{"action", Filter{Action: Confirmed}, func(i int) bool { return i%4 == 2 }},
		{"message id", Filter{MessageID: "msg-17"}, func(i int) bool { return i == 17 }},
		{"time range", Filter{From: start.Add(10 * time.Minute), To: start.Add(20 * time.Minute), Limit: 3},
			func(i int) bool { return i >= 10 && i < 20 }},
		{"combined", Filter{Principal: "party-0", Action: Received}, func(i int) bool { return i%3 == 0 && i%4 == 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want []string
			for i := range 30 {
				if tt.want(i) {
					want = append(want, fmt.Sprintf("msg-%d", i))
				}
			}
			var got []string
			for _, e := range all(tt.f) {
				got = append(got, e.MessageID)
			}
			assert.Equal(t, want, got)
		})
	}
}

func TestPruneKeepsAVerifiableChain(t *testing.T) {
	dir := t.TempDir()
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := openTest(t, dir, c)
	fill(t, l, c, 5)
	c.add(40 * 24 * time.Hour) // past the 30-day retention
	fill(t, l, c, 3)

	n, err := l.Prune(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 5, n)
	res, err := Verify(dir)
	require.NoError(t, err)
	assert.Equal(t, uint64(6), res.First)
	assert.Equal(t, 4, res.Entries, "three kept and the pruned record")

	page, _, err := l.Query(context.Background(), Filter{Action: Pruned})
	require.NoError(t, err)
	require.Len(t, page, 1)
	assert.Equal(t, "first kept 6", page[0].Detail)

	_, err = l.Append(context.Background(), Entry{Principal: "p", Action: Fetched})
	require.NoError(t, err, "appends continue on the rewritten file")
	_, err = Verify(dir)
	require.NoError(t, err)

	n, err = l.Prune(context.Background())
	require.NoError(t, err)
	assert.Zero(t, n, "nothing more past retention")
}

func TestPruneOfEverything(t *testing.T) {
	dir := t.TempDir()
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := openTest(t, dir, c)
	fill(t, l, c, 3)
	c.add(40 * 24 * time.Hour)
	n, err := l.Prune(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	res, err := Verify(dir)
	require.NoError(t, err)
	assert.Equal(t, 1, res.Entries)
}

func TestEntriesHoldNoContentFields(t *testing.T) {
	// The file format is the Entry struct: a line decodes strictly into
	// it, so no field for content can be smuggled in by a later change
	// without this list changing.
	dir := t.TempDir()
	c := &clock{t: time.Now()}
	l := openTest(t, dir, c)
	_, err := l.Append(context.Background(), Entry{Principal: "p", Action: Fetched, MessageID: "m", Remote: "r", Detail: "d"})
	require.NoError(t, err)
	raw, err := os.ReadFile(filepath.Join(dir, FileName))
	require.NoError(t, err)
	for _, key := range []string{`"seq"`, `"time"`, `"principal"`, `"action"`, `"message_id"`, `"remote"`, `"detail"`, `"prev"`, `"hash"`} {
		assert.True(t, bytes.Contains(raw, []byte(key)), key)
	}
	assert.Equal(t, 9, bytes.Count(raw, []byte(`":`)), "exactly the nine fields")
}

func FuzzVerify(f *testing.F) {
	dir := f.TempDir()
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	l, err := Open(Config{Dir: dir, Now: c.now})
	require.NoError(f, err)
	for i := range 3 {
		_, err := l.Append(context.Background(), Entry{Principal: "p", Action: Fetched, MessageID: fmt.Sprint(i)})
		require.NoError(f, err)
	}
	l.Close()
	raw, err := os.ReadFile(filepath.Join(dir, FileName))
	require.NoError(f, err)
	f.Add(raw)
	f.Add([]byte("{}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := VerifyReader(bytes.NewReader(data)) // must not panic; a pass must be a real chain
		if err == nil && res.Entries > 0 {
			assert.Len(t, res.Head, 64)
		}
	})
}
