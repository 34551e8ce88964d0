package conformance

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEmbeddedCasesComplete: the binary carries the same cases as
// testdata, byte for byte in their steps and sections, and every file a
// case reads a message from.
func TestEmbeddedCasesComplete(t *testing.T) {
	onDisk, err := Load("testdata")
	require.NoError(t, err)
	embedded, err := Embedded()
	require.NoError(t, err)
	require.Len(t, embedded, len(onDisk))
	for i, c := range embedded {
		d := onDisk[i]
		assert.Equal(t, d.Name, c.Name)
		assert.Equal(t, filepath.Join(EmbeddedDir, d.Name+Ext), c.File)
		assert.Equal(t, d.Steps, c.Steps, c.Name)
		assert.Equal(t, d.Files, c.Files, c.Name)
		for _, st := range c.Steps {
			if st.Verb == "message" && st.Args[1] == "file" {
				_, err := c.readFile(st.Args[2])
				assert.NoError(t, err, "%s:%d: the file is not embedded", c.File, st.Line)
			}
		}
	}
}
