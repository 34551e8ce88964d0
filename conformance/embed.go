package conformance

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
)

// suite is the conformance suite as built into the binary, so that
// `knooppunt conformance run` needs no source tree. A case that reads a
// message from a file needs that file embedded too: add its pattern here
// (TestEmbeddedCasesComplete fails until it is).
//
//go:embed testdata/*.case
var suite embed.FS

// EmbeddedDir is the directory of the embedded cases in reports: where
// they are in the source tree.
const EmbeddedDir = "conformance/testdata"

// Embedded returns the cases built into the binary, as Load returns those
// of a directory.
func Embedded() ([]*Case, error) {
	return load(suite, "testdata", EmbeddedDir, true)
}

// readFile reads a "file" message, relative to the case.
func (c *Case) readFile(name string) ([]byte, error) {
	if c.fsys != nil {
		data, err := fs.ReadFile(c.fsys, path.Join(c.Dir, name))
		if err != nil {
			return nil, fmt.Errorf("reading message file %s: %w", name, err)
		}
		return data, nil
	}
	return os.ReadFile(filepath.Join(c.Dir, filepath.FromSlash(name)))
}
