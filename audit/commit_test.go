package audit

import (
	"context"
	"errors"
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

// TestOpenCutsTornTail: a crash in the middle of a write leaves a last line
// without its newline. Open cuts it off and the chain goes on from the last
// whole entry.
func TestOpenCutsTornTail(t *testing.T) {
	for _, tail := range []string{`{"seq":4,"time":"2026-01-01T00:0`, "\x00\x00\x00\x00", `{`} {
		t.Run(fmt.Sprintf("%q", tail), func(t *testing.T) {
			dir := t.TempDir()
			c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
			l := openTest(t, dir, c)
			fill(t, l, c, 3)
			require.NoError(t, l.Close())
			path := filepath.Join(dir, FileName)
			whole, err := os.ReadFile(path)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(path, append(whole, tail...), 0o600))

			l = openTest(t, dir, c)
			seq, _ := l.Head()
			assert.Equal(t, uint64(3), seq)
			e, err := l.Append(context.Background(), Entry{Principal: "p", Action: Fetched})
			require.NoError(t, err)
			assert.Equal(t, uint64(4), e.Seq)
			require.NoError(t, l.Close())
			res, err := Verify(dir)
			require.NoError(t, err)
			assert.Equal(t, 4, res.Entries)
		})
	}
}

// TestOpenRefusesLongLineWithoutEnd: more than a line's worth of bytes
// without a newline is not a torn write but a damaged file.
func TestOpenRefusesLongLineWithoutEnd(t *testing.T) {
	dir := t.TempDir()
	c := &clock{t: time.Now()}
	l := openTest(t, dir, c)
	fill(t, l, c, 2)
	require.NoError(t, l.Close())
	path := filepath.Join(dir, FileName)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = f.WriteString(strings.Repeat("x", maxLine+1))
	require.NoError(t, err)
	require.NoError(t, f.Close())
	_, err = Open(Config{Dir: dir})
	assert.ErrorIs(t, err, ErrTampered)
}

// TestCloseDuringAppends: every Append racing Close either returns its
// entry, which is then in the trail, or ErrClosed, and then is not.
func TestCloseDuringAppends(t *testing.T) {
	dir := t.TempDir()
	c := &clock{t: time.Now()}
	l := openTest(t, dir, c)
	var (
		mu  sync.Mutex
		got = map[string]bool{}
		wg  sync.WaitGroup
	)
	for g := range 16 {
		wg.Go(func() {
			for i := 0; ; i++ {
				id := fmt.Sprintf("m-%d-%d", g, i)
				_, err := l.Append(context.Background(), Entry{Principal: "p", Action: Fetched, MessageID: id})
				if errors.Is(err, ErrClosed) {
					return
				}
				if !assert.NoError(t, err) {
					return
				}
				mu.Lock()
				got[id] = true
				mu.Unlock()
			}
		})
	}
	time.Sleep(20 * time.Millisecond) // let the appenders run; no timing is asserted
	require.NoError(t, l.Close())
	wg.Wait()

	in := map[string]bool{}
	require.NoError(t, scan(filepath.Join(dir, FileName), func(e *Entry) error {
		in[e.MessageID] = true
		return nil
	}))
	assert.NotEmpty(t, got)
	for id := range got {
		assert.True(t, in[id], "acknowledged entry %s is missing", id)
	}
	_, err := Verify(dir)
	require.NoError(t, err)
}
