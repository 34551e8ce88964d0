package retour

import "github.com/knooppunt/knooppunt/bericht"

// writer is bericht.Writer with the retour builders' shorthands for CDT
// pairs and RetourCodes.
type writer struct{ bericht.Writer }

func newWriter(s bericht.Soort, size int) *writer {
	return &writer{*bericht.NewWriter(s, size)} // NewWriter inlines: one allocation
}

// pair writes a CDT element of two basisschema children, such as
// BerichtIdentificatie or XsdVersie.
func (w *writer) pair(name, n1, v1, n2, v2 string) {
	w.Open(name)
	w.BasisLeaf(n1, v1)
	w.BasisLeaf(n2, v2)
	w.Close(name)
}

func (w *writer) retourCodes(codes []string) {
	w.Open("RetourCodes")
	for _, c := range codes {
		w.Leaf("RetourCode", c)
	}
	w.Close("RetourCodes")
}
