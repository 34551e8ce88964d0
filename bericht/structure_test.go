package bericht_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/bericht"
)

func TestStructureEverySoort(t *testing.T) {
	for _, s := range bericht.All() {
		t.Run(s.Name, func(t *testing.T) {
			root := bericht.Structure(s)
			require.NotNil(t, root)
			assert.Equal(t, "Bericht", root.Name)
			assert.Equal(t, s.Namespace, root.Namespace)

			header := root.Child("Header")
			require.NotNil(t, header, "every message has a Header")
			assert.Equal(t, s.Namespace, header.Namespace, "Header is declared in the message schema")
			code := header.Child("BerichtCode")
			require.NotNil(t, code)
			require.NotNil(t, code.Type)
			assert.Equal(t, []string{s.Code}, code.Type.Patterns, "BerichtCode is fixed by an inline pattern")
			require.NotNil(t, code.Type.BaseType)
			assert.Equal(t, "LDT_BerichtCode", code.Type.BaseType.Name)

			id := header.Child("BerichtIdentificatie")
			require.NotNil(t, id)
			assert.Nil(t, id.Type, "a CDT element is complex")
			dag := id.Child("Dagtekening")
			require.NotNil(t, dag)
			assert.Equal(t, bericht.BasisNamespace(s.Standard, s.Release), dag.Namespace,
				"children of a CDT type are in the basisschema namespace")
			assert.Equal(t, "xs:date", dag.Type.Primitive())
			assert.Equal(t, "Bericht/Header/BerichtIdentificatie/Dagtekening", dag.Path)
		})
	}
	assert.Nil(t, bericht.Structure(bericht.Soort{Name: "WMO999"}))
}

func TestXsdVersie(t *testing.T) {
	tests := []struct {
		soort, basis, bericht string
	}{
		{"WMO301", "1.0.0", "1.0.0"},
		{"WMO325", "1.0.0", "1.0.0"},
		{"JW301", "0.1.0", "0.1.0"},
		{"JW320", "0.1.0", "0.1.0"},
	}
	for _, tt := range tests {
		s, ok := bericht.Lookup(tt.soort)
		require.True(t, ok)
		basis, msg := bericht.XsdVersie(s)
		assert.Equal(t, tt.basis, basis, tt.soort)
		assert.Equal(t, tt.bericht, msg, tt.soort)
	}
	basis, msg := bericht.XsdVersie(bericht.Soort{Name: "WMO999"})
	assert.Empty(t, basis)
	assert.Empty(t, msg)
}

func TestSchemaFilesComplete(t *testing.T) {
	files := bericht.SchemaFiles()
	require.Len(t, files, 30, "28 message schemas and two basisschema's")
	for _, s := range bericht.All() {
		dir := string(s.Standard) + "-" + s.Release + "/"
		xsd, ok := files[dir+s.Name+".xsd"]
		require.True(t, ok, s.Name)
		assert.Contains(t, string(xsd), `targetNamespace="`+s.Namespace+`"`)
		assert.Contains(t, string(xsd), `schemaLocation="basisschema.xsd"`)
		assert.Contains(t, files, dir+"basisschema.xsd")
	}
	delete(files, "iwmo-3.2/WMO301.xsd")
	assert.Contains(t, bericht.SchemaFiles(), "iwmo-3.2/WMO301.xsd", "callers get a copy of the map")
	assert.True(t, strings.HasPrefix(string(bericht.SchemaFiles()["ijw-3.2/basisschema.xsd"]), "<?xml"))
}
