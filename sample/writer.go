package sample

import (
	"time"

	"github.com/knooppunt/knooppunt/bericht"
)

// writer is bericht.Writer with the generator's shorthands for optional
// elements and RetourCodes.
type writer struct{ bericht.Writer }

func newWriter(s bericht.Soort, size int) *writer {
	return &writer{*bericht.NewWriter(s, size)} // NewWriter inlines: one allocation
}

// opt writes a message-namespace leaf only when value is not empty.
func (w *writer) opt(name, value string) {
	if value != "" {
		w.Leaf(name, value)
	}
}

// bopt writes a basisschema leaf only when value is not empty.
func (w *writer) bopt(name, value string) {
	if value != "" {
		w.BasisLeaf(name, value)
	}
}

// optDate writes a message-namespace date unless d is the zero time.
func (w *writer) optDate(name string, d time.Time) {
	if !d.IsZero() {
		w.Date(name, d)
	}
}

func (w *writer) retourCodes(codes ...string) {
	w.Open("RetourCodes")
	for _, c := range codes {
		w.Leaf("RetourCode", c)
	}
	w.Close("RetourCodes")
}

const dateLayout = "2006-01-02"
