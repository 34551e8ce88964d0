// Package progress tells the person running a long command how far it is.
// On a terminal a Meter redraws one line with the count, the rate and the
// time left; written to a file or a pipe it prints a plain line every few
// seconds instead, which logs and CI keep readable.
package progress

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Intervals between reports.
const (
	terminalEvery = 250 * time.Millisecond
	plainEvery    = 5 * time.Second
)

// Meter counts the units of work done and reports them until Done.
// Add is safe for concurrent use; Done is safe twice.
type Meter struct {
	w        io.Writer
	what     string
	total    int64 // 0: unknown
	bytes    bool  // count bytes: shown in MB
	terminal bool
	start    time.Time
	done     atomic.Int64
	stop     chan struct{}
	stopped  chan struct{}
	once     sync.Once
}

// New starts a meter of total units (0 when unknown) of what ("messages"),
// reporting to w.
func New(w io.Writer, what string, total int64) *Meter {
	m := &Meter{w: w, what: what, total: max(total, 0), terminal: IsTerminal(w), start: time.Now(),
		stop: make(chan struct{}), stopped: make(chan struct{})}
	every := plainEvery
	if m.terminal {
		every = terminalEvery
	}
	go m.run(every)
	return m
}

// NewBytes is New for a count of bytes, shown in megabytes.
func NewBytes(w io.Writer, what string, total int64) *Meter {
	m := New(w, what, total)
	m.bytes = true
	return m
}

// Reader counts what is read through r on m.
func (m *Meter) Reader(r io.Reader) io.Reader { return countingReader{r: r, m: m} }

type countingReader struct {
	r io.Reader
	m *Meter
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.m.Add(int64(n))
	return n, err
}

// IsTerminal reports whether w is a character device (a terminal).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// Add counts n more units done.
func (m *Meter) Add(n int64) { m.done.Add(n) }

// Count is the units done so far.
func (m *Meter) Count() int64 { return m.done.Load() }

func (m *Meter) run(every time.Duration) {
	defer close(m.stopped)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
			m.report(false)
		}
	}
}

// Done stops reporting and writes the final line.
func (m *Meter) Done() {
	m.once.Do(func() {
		close(m.stop)
		<-m.stopped
		m.report(true)
	})
}

// report writes one report; final ends the terminal's line.
func (m *Meter) report(final bool) {
	fmt.Fprint(m.w, m.line(time.Since(m.start), final))
}

// line is the report after elapsed.
func (m *Meter) line(elapsed time.Duration, final bool) string {
	n := m.done.Load()
	rate := 0.0
	if sec := elapsed.Seconds(); sec > 0 {
		rate = float64(n) / sec
	}
	amount, speed := strconv.FormatInt, fmt.Sprintf("%.0f/s", rate)
	if m.bytes {
		const mb = 1 << 20
		amount = func(v int64, _ int) string { return fmt.Sprintf("%.1f MB", float64(v)/mb) }
		speed = fmt.Sprintf("%.1f MB/s", rate/mb)
	}
	var s string
	if m.total > 0 {
		s = fmt.Sprintf("%s of %s %s (%.0f%%), %s", amount(n, 10), amount(m.total, 10), m.what,
			float64(n)/float64(m.total)*100, speed)
		if !final && rate > 0 && n < m.total {
			left := time.Duration(float64(m.total-n) / rate * float64(time.Second))
			s += ", " + left.Round(time.Second).String() + " left"
		}
	} else {
		s = fmt.Sprintf("%s %s, %s", amount(n, 10), m.what, speed)
	}
	if final {
		s += " in " + elapsed.Round(100*time.Millisecond).String()
	}
	if m.terminal {
		s = "\r\033[K" + bar(n, m.total) + s
		if final {
			s += "\n"
		}
		return s
	}
	return s + "\n"
}

// bar is a 20-cell bar of n of total, or nothing for an unknown total.
func bar(n, total int64) string {
	if total <= 0 {
		return ""
	}
	const cells = 20
	full := int(min(n, total) * cells / total)
	b := make([]byte, 0, cells+3)
	b = append(b, '[')
	for i := range cells {
		if i < full {
			b = append(b, '#')
		} else {
			b = append(b, '.')
		}
	}
	return string(append(b, ']', ' '))
}
