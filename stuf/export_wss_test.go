package stuf

import "github.com/beevik/etree"

// Canonical exposes the exclusive canonicalisation to the package's
// external tests, which sign with it as a client would.
func Canonical(el *etree.Element, prefixList string) ([]byte, error) {
	return canonical(el, prefixList)
}
