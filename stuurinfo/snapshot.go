package stuurinfo

import (
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/knooppunt/knooppunt/store"
)

// snapshot is the persisted form of the aggregates.
type snapshot struct {
	Version int
	// Position is Aggregates.position; absent (0) in files written before
	// the aggregates could follow a Source.
	Position uint64
	Names    []string
	Rows     [3][]snapRow
	Open     []snapOpen
	// Categories are the figures per ProductCategorie; absent in files
	// written before they were kept.
	Categories [3][]snapCategoryRow
}

type snapCategoryRow struct {
	Period int32
	Cell   [3]uint32 // gemeente, aanbieder, categorie
	Counts CategoryCounts
}

type snapRow struct {
	Period int32
	Cell   [3]uint32 // gemeente, aanbieder, soort
	Counts Counts
}

type snapOpen struct {
	Soort, Gemeente, Aanbieder uint32
	Ref                        string
	At                         time.Time
}

const snapshotVersion = 1

// ErrSnapshot means a snapshot file could not be decoded.
var ErrSnapshot = errors.New("stuurinfo: unreadable snapshot")

// WriteTo writes the aggregates to w (encoding/gob).
func (a *Aggregates) WriteTo(w io.Writer) (int64, error) {
	a.mu.RLock()
	s := snapshot{Version: snapshotVersion, Position: a.position, Names: append([]string(nil), a.names...)}
	for g, periods := range a.periods {
		for p, rows := range periods {
			for c, n := range rows {
				s.Rows[g] = append(s.Rows[g], snapRow{Period: p, Cell: [3]uint32{c.gemeente, c.aanbieder, c.soort}, Counts: n.counts()})
			}
		}
	}
	for r, at := range a.open {
		s.Open = append(s.Open, snapOpen{Soort: r.soort, Gemeente: r.gemeente, Aanbieder: r.aanbieder, Ref: r.ref, At: at})
	}
	for g, periods := range a.categories {
		for p, rows := range periods {
			for c, n := range rows {
				s.Categories[g] = append(s.Categories[g], snapCategoryRow{Period: p, Cell: [3]uint32{c.gemeente, c.aanbieder, c.soort}, Counts: n})
			}
		}
	}
	a.mu.RUnlock()
	cw := &countWriter{w: w}
	if err := gob.NewEncoder(cw).Encode(&s); err != nil {
		return cw.n, fmt.Errorf("writing stuurinfo snapshot: %w", err)
	}
	return cw.n, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// ReadAggregates reads aggregates written by WriteTo.
func ReadAggregates(r io.Reader, loc *time.Location) (*Aggregates, error) {
	var s snapshot
	if err := gob.NewDecoder(r).Decode(&s); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSnapshot, err)
	}
	if s.Version != snapshotVersion {
		return nil, fmt.Errorf("%w: version %d", ErrSnapshot, s.Version)
	}
	a := NewAggregates(loc)
	a.position = s.Position
	a.names = s.Names
	for i, n := range s.Names {
		a.ids[n] = uint32(i)
	}
	valid := func(ids ...uint32) bool {
		for _, id := range ids {
			if int(id) >= len(s.Names) {
				return false
			}
		}
		return true
	}
	for g, rows := range s.Rows {
		for _, r := range rows {
			if !valid(r.Cell[:]...) {
				return nil, fmt.Errorf("%w: name out of range", ErrSnapshot)
			}
			a.addTo(Granularity(g), r.Period, cell{gemeente: r.Cell[0], aanbieder: r.Cell[1], soort: r.Cell[2]}, &r.Counts)
			a.internSoort(s.Names[r.Cell[2]])
			if Granularity(g) == Day && r.Period > a.newest {
				a.newest = r.Period
			}
		}
	}
	for g, rows := range s.Categories {
		for _, r := range rows {
			if !valid(r.Cell[:]...) {
				return nil, fmt.Errorf("%w: name out of range", ErrSnapshot)
			}
			a.addCategory(Granularity(g), r.Period, cell{gemeente: r.Cell[0], aanbieder: r.Cell[1], soort: r.Cell[2]}, &r.Counts)
		}
	}
	for _, o := range s.Open {
		if !valid(o.Soort, o.Gemeente, o.Aanbieder) {
			return nil, fmt.Errorf("%w: name out of range", ErrSnapshot)
		}
		a.open[request{soort: o.Soort, gemeente: o.Gemeente, aanbieder: o.Aanbieder, ref: o.Ref}] = o.At
	}
	return a, nil
}

// SaveFile writes the aggregates to path atomically (store.ReplaceFile)
// with mode 0600 whatever the umask: the rows name aanbieders by AGB code,
// which can identify a natural person.
func (a *Aggregates) SaveFile(path string) error {
	err := store.ReplaceFile(path, func(w io.Writer) error {
		_, err := a.WriteTo(w)
		return err
	})
	if err != nil {
		return fmt.Errorf("saving stuurinfo: %w", err)
	}
	return nil
}

// LoadFile reads aggregates saved by SaveFile; a missing file gives empty
// aggregates.
func LoadFile(path string, loc *time.Location) (*Aggregates, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return NewAggregates(loc), nil
	}
	if err != nil {
		return nil, fmt.Errorf("loading stuurinfo: %w", err)
	}
	defer f.Close()
	a, err := ReadAggregates(f, loc)
	if err != nil {
		return nil, fmt.Errorf("loading stuurinfo %s: %w", filepath.Base(path), err)
	}
	return a, nil
}
