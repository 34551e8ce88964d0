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

// TestStandardsDiffer pins the places where iJw 3.2 differs from iWmo 3.2,
// so a model edit that blurs them fails here as well as in the
// comparison with the official schemas.
func TestStandardsDiffer(t *testing.T) {
	find := func(soort, path string) *bericht.Element {
		s, ok := bericht.Lookup(soort)
		require.True(t, ok)
		var found *bericht.Element
		bericht.Structure(s).Walk(func(e *bericht.Element) bool {
			if e.Path == path {
				found = e
			}
			return found == nil
		})
		return found
	}
	tests := []struct {
		name        string
		wmo, jw     string // soorten
		path        string
		inWmo, inJw bool
	}{
		{"GezagsdragerBekend in 315", "WMO315", "JW315", "Bericht/Client/GezagsdragerBekend", false, true},
		{"GezagsdragerBekend in 316", "WMO316", "JW316", "Bericht/Client/GezagsdragerBekend", false, true},
		{"Woonplaatsbeginsel in 319", "WMO319", "JW319", "Bericht/Antwoord/Woonplaatsbeginsel/Gemeente", false, true},
		{"Woonplaatsbeginsel in 320", "WMO320", "JW320", "Bericht/Antwoord/Woonplaatsbeginsel/Gemeente", false, true},
		{"Client in both", "WMO301", "JW301", "Bericht/Client/Bsn", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.inWmo, find(tt.wmo, tt.path) != nil, tt.wmo)
			assert.Equal(t, tt.inJw, find(tt.jw, tt.path) != nil, tt.jw)
		})
	}

	categorie := func(soort string) []string {
		e := find(soort, "Bericht/Client/ToegewezenProducten/ToegewezenProduct/Product/Categorie")
		require.NotNil(t, e, soort)
		return e.Type.Enumeration
	}
	assert.Contains(t, categorie("WMO301"), "02")
	assert.NotContains(t, categorie("JW301"), "02")
	assert.Contains(t, categorie("JW301"), "45")
	assert.NotContains(t, categorie("WMO301"), "45")
}

func TestBerichtklassen(t *testing.T) {
	paths := func(soort string) []string {
		s, ok := bericht.Lookup(soort)
		require.True(t, ok)
		var out []string
		for _, e := range bericht.Berichtklassen(s) {
			out = append(out, e.Path)
		}
		return out
	}
	assert.Equal(t, []string{
		"Bericht/Header",
		"Bericht/Client",
		"Bericht/Client/Relaties/Relatie",
		"Bericht/Client/Relaties/Relatie/Contact",
		"Bericht/Client/Contactgegevens/Contact",
		"Bericht/Client/ToegewezenProducten/ToegewezenProduct",
	}, paths("WMO302"))
	for _, s := range bericht.All() {
		klassen := bericht.Berichtklassen(s)
		if !s.Answers() {
			assert.Empty(t, klassen, "%s answers no message", s.Name)
			continue
		}
		require.NotEmpty(t, klassen, s.Name)
		assert.Equal(t, "Bericht/Header", klassen[0].Path, "%s: the header is a berichtklasse", s.Name)
		for _, k := range klassen {
			codes := k.Child("RetourCodes").Child("RetourCode")
			require.NotNil(t, codes, "%s %s", s.Name, k.Path)
			assert.Equal(t, "LDT_RetourCode", codes.TypeName)
		}
	}
	assert.Nil(t, bericht.Berichtklassen(bericht.Soort{Name: "WMO999"}))
}

// TestConcurrentUse reads the model from many goroutines at once; run
// with -race it checks the lazy, once-only loading.
func TestConcurrentUse(t *testing.T) {
	s, _ := bericht.Lookup("JW323")
	want := len(bericht.SchemaFiles()["ijw-3.2/JW323.xsd"])
	done := make(chan int)
	for range 8 {
		go func() {
			n := len(bericht.SchemaFiles()["ijw-3.2/JW323.xsd"])
			if bericht.Structure(s) == nil {
				n = -1
			}
			done <- n
		}()
	}
	for range 8 {
		assert.Equal(t, want, <-done)
	}
}
