package monitor

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/knooppunt/knooppunt/store"
)

// Span is a range the operator's page can show: so many buckets of one
// width, the last of which holds now.
type Span struct {
	Name    string        // the page's name for it: uur, dag, week, 12weken
	Title   string        // how the page writes it
	Width   time.Duration // one bucket
	Buckets int
}

// Spans are the ranges of the page, the first the default. Each is kept
// as a ring of its own, so a long range costs no more to draw than a
// short one.
var Spans = []Span{
	{"uur", "het laatste uur", time.Minute, 60},
	{"dag", "de laatste 24 uur", 15 * time.Minute, 96},
	{"week", "de laatste 7 dagen", 2 * time.Hour, 84},
	{"12weken", "de laatste 12 weken", 24 * time.Hour, 84},
}

// ring holds one span's buckets. Counters add their increase to the
// bucket of the moment they were sampled; gauges keep their last value.
type ring struct {
	Width int64 `json:"width_s"`
	// Start is each slot's bucket start (Unix seconds); a slot whose start
	// is not the bucket it should hold is empty.
	Start []int64 `json:"start"`
	// Values holds, per series, one value per slot.
	Values map[string][]float64 `json:"values"`
}

func newRing(s Span) *ring {
	return &ring{Width: int64(s.Width / time.Second), Start: make([]int64, s.Buckets), Values: map[string][]float64{}}
}

// slot is where the bucket of t lives, and that bucket's start.
func (r *ring) slot(t time.Time) (int, int64) {
	start := t.Unix() - t.Unix()%r.Width
	return int((start / r.Width) % int64(len(r.Start))), start
}

// claim makes the slot of t hold t's bucket, emptying what it held before.
func (r *ring) claim(t time.Time) int {
	i, start := r.slot(t)
	if r.Start[i] != start {
		r.Start[i] = start
		for _, v := range r.Values {
			v[i] = 0
		}
	}
	return i
}

func (r *ring) series(name string) []float64 {
	v, ok := r.Values[name]
	if !ok {
		v = make([]float64, len(r.Start))
		r.Values[name] = v
	}
	return v
}

// add records counter increases and gauge values sampled at t.
func (r *ring) add(t time.Time, increases, gauges map[string]float64) {
	i := r.claim(t)
	for name, d := range increases {
		r.series(name)[i] += d
	}
	for name, g := range gauges {
		r.series(name)[i] = g
	}
}

// window returns the starts of the buckets ending with now's, oldest
// first, and for each the slot holding it, or -1 when the ring has
// nothing for it.
func (r *ring) window(now time.Time) (starts []time.Time, slots []int) {
	n := len(r.Start)
	_, last := r.slot(now)
	for k := n - 1; k >= 0; k-- {
		start := last - int64(k)*r.Width
		i := int((start / r.Width) % int64(n))
		starts = append(starts, time.Unix(start, 0))
		if r.Start[i] == start {
			slots = append(slots, i)
		} else {
			slots = append(slots, -1)
		}
	}
	return starts, slots
}

// history is every span's ring: what the page draws from, and what is
// kept across restarts.
type history struct {
	Rings []*ring `json:"rings"`
}

func newHistory() *history {
	h := &history{}
	for _, s := range Spans {
		h.Rings = append(h.Rings, newRing(s))
	}
	return h
}

func (h *history) add(t time.Time, increases, gauges map[string]float64) {
	for _, r := range h.Rings {
		r.add(t, increases, gauges)
	}
}

// loadHistory reads the history kept in file; a missing file is an empty
// history. A file of other spans (another version) is set aside: the
// history only serves the page, so starting afresh is better than
// refusing to start.
func loadHistory(file string) (*history, error) {
	b, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return newHistory(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the operator history: %w", err)
	}
	var h history
	if err := json.Unmarshal(b, &h); err != nil || !h.fits() {
		return newHistory(), nil
	}
	return &h, nil
}

// fits says whether h has a ring of the right shape for every span.
func (h *history) fits() bool {
	if len(h.Rings) != len(Spans) {
		return false
	}
	for i, s := range Spans {
		r := h.Rings[i]
		if r == nil || r.Width != int64(s.Width/time.Second) || len(r.Start) != s.Buckets {
			return false
		}
		if r.Values == nil {
			r.Values = map[string][]float64{}
		}
		for _, v := range r.Values {
			if len(v) != s.Buckets {
				return false
			}
		}
	}
	return true
}

// save writes h to file durably (store.ReplaceFile).
func (h *history) save(file string) error {
	b, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("encoding the operator history: %w", err)
	}
	err = store.ReplaceFile(file, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
	if err != nil {
		return fmt.Errorf("saving the operator history: %w", err)
	}
	return nil
}
