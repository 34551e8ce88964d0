package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/bericht"
)

func TestSchemasExport(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "xsd")
	code, out, errs := runCmd("schemas", "export", dir)
	require.Equal(t, 0, code, errs)
	assert.Contains(t, out, "wrote 30 schemas to "+dir)

	for name, want := range bericht.SchemaFiles() {
		got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
		require.NoError(t, err, name)
		assert.Equal(t, string(want), string(got), name)
	}
	for _, s := range bericht.All() {
		assert.FileExists(t, filepath.Join(dir, string(s.Standard)+"-"+s.Release, s.Name+".xsd"))
	}

	// Exporting again overwrites in place.
	code, _, errs = runCmd("schemas", "export", dir)
	assert.Equal(t, 0, code, errs)
}

func TestSchemasExportCompilesWithXmllint(t *testing.T) {
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		t.Skip("skipped: xmllint not installed: the exported schemas are compiled by the differential test instead")
	}
	dir := t.TempDir()
	code, _, errs := runCmd("schemas", "export", dir)
	require.Equal(t, 0, code, errs)
	// A schema with an empty instance: xmllint compiles the schema (and
	// its import) and then rejects the document, which is what we want
	// to see rather than a schema error.
	doc := filepath.Join(dir, "leeg.xml")
	require.NoError(t, os.WriteFile(doc, []byte(`<Bericht xmlns="urn:onbekend"/>`), 0o644))
	for _, s := range []string{"iwmo-3.2/WMO301.xsd", "ijw-3.2/JW325.xsd"} {
		out, err := exec.Command(xmllint, "--noout", "--nonet", "--schema", filepath.Join(dir, s), doc).CombinedOutput()
		require.Error(t, err, "the document is not a message")
		assert.Contains(t, string(out), "No matching global declaration", s)
		assert.NotContains(t, string(out), "failed to compile", s)
	}
}

func TestSchemasUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
	}{
		{"help", []string{"schemas", "--help"}, 0},
		{"no action", []string{"schemas"}, 2},
		{"no dir", []string{"schemas", "export"}, 2},
		{"unknown action", []string{"schemas", "list", "x"}, 2},
		{"extra argument", []string{"schemas", "export", "a", "b"}, 2},
		{"unknown flag", []string{"schemas", "--force", "export", "a"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runCmd(tt.args...)
			assert.Equal(t, tt.code, code)
			if tt.code == 0 {
				assert.Contains(t, out, "Usage: knooppunt schemas export DIR")
			} else {
				assert.Contains(t, errs, "Usage: knooppunt schemas export DIR")
			}
		})
	}
}

func TestSchemasExportUnwritable(t *testing.T) {
	file := filepath.Join(t.TempDir(), "bestand")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	code, _, errs := runCmd("schemas", "export", file)
	assert.Equal(t, 2, code)
	assert.Contains(t, errs, "knooppunt schemas: creating")
}
