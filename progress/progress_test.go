package progress

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestLine: the report says the count, the share, the rate and the time
// left; the final one the time taken; a terminal gets a bar on one line
// that is redrawn, a file a line of its own.
func TestLine(t *testing.T) {
	m := &Meter{what: "messages", total: 200}
	m.Add(50)
	assert.Equal(t, "50 of 200 messages (25%), 5/s, 30s left\n", m.line(10*time.Second, false))
	m.Add(150)
	assert.Equal(t, "200 of 200 messages (100%), 10/s in 20s\n", m.line(20*time.Second, true))

	m.terminal = true
	got := m.line(20*time.Second, false)
	assert.True(t, strings.HasPrefix(got, "\r\033[K[####################] "), got)
	assert.False(t, strings.HasSuffix(got, "\n"), "redrawn in place")

	u := &Meter{what: "entries"}
	u.Add(7)
	assert.Equal(t, "7 entries, 7/s\n", u.line(time.Second, false))

	b := &Meter{what: "of the trail", total: 4 << 20, bytes: true}
	r := b.Reader(strings.NewReader(strings.Repeat("x", 1<<20)))
	_, err := io.Copy(io.Discard, r)
	assert.NoError(t, err)
	assert.Equal(t, "1.0 MB of 4.0 MB of the trail (25%), 0.5 MB/s, 6s left\n", b.line(2*time.Second, false))
}

// TestDone: Done writes the final report once and may be called twice; a
// buffer is no terminal.
func TestDone(t *testing.T) {
	var buf bytes.Buffer
	m := New(&buf, "messages", 3)
	assert.False(t, m.terminal)
	m.Add(3)
	m.Done()
	m.Done()
	assert.Equal(t, 1, strings.Count(buf.String(), "3 of 3 messages (100%)"), buf.String())
	assert.EqualValues(t, 3, m.Count())
}
