package bericht

import (
	"fmt"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// minimalModel is a small but complete iWmo model: a basisschema with
// one simple and one complex type, and every berichtsoort with a root of
// one element. extra is appended to the WMO301 section.
func minimalModel(extra string) string {
	var b strings.Builder
	b.WriteString("# test model\nstandard iwmo 3.2\n\nschema basisschema\nversie 1.0.0 1.0.0 1.0.0\n")
	b.WriteString("simple LDT_Code xs:string\n\tminLength 1\n\tmaxLength 3\n\tpattern [0-9]+\n\tenumeration 1 22\n\tenumeration 333\n")
	b.WriteString("simple LDT_Getal xs:integer\n\tminInclusive 0\n\tmaxInclusive 99\n")
	b.WriteString("complex CDT_Paar\n\tEen LDT_Code\n\tTwee? LDT_Getal\n")
	for _, s := range All() {
		if s.Standard != IWmo {
			continue
		}
		fmt.Fprintf(&b, "\nschema %s\nversie 1.0.0 1.0.0 1.0.0\nbasisschema 1.0.0 1.0.0 1.0.0\nroot Bericht Root\ncomplex Root\n\tPaar+ CDT_Paar\n\tCode* LDT_Code\n\t\tpattern 1\n", s.Name)
		if s.Name == "WMO301" {
			b.WriteString(extra)
		}
	}
	return b.String()
}

func TestParseModel(t *testing.T) {
	m, err := parseModel("test.model", []byte(minimalModel("")))
	require.NoError(t, err)
	assert.Equal(t, IWmo, m.standard)
	require.Len(t, m.messages, 14)

	code := m.basis.types["LDT_Code"].(*SimpleType)
	assert.Equal(t, 1, code.MinLength)
	assert.Equal(t, 3, code.MaxLength)
	assert.Equal(t, []string{"[0-9]+"}, code.Patterns)
	assert.Equal(t, []string{"1", "22", "333"}, code.Enumeration, "enumeration lines accumulate")
	assert.Equal(t, BasisNamespace(IWmo, "3.2"), code.Namespace)

	root := m.tree(m.messages[0], m.lookup(m.messages[0], "Root").(*complexType), "Bericht", "Bericht", 1, 1, m.messages[0].namespace)
	paar := root.Child("Paar")
	require.NotNil(t, paar)
	assert.Equal(t, [2]int{1, -1}, [2]int{paar.Min, paar.Max}, "+ is 1..unbounded")
	twee := paar.Child("Twee")
	assert.Equal(t, [2]int{0, 1}, [2]int{twee.Min, twee.Max}, "? is 0..1")
	assert.Equal(t, BasisNamespace(IWmo, "3.2"), twee.Namespace)
	assert.Equal(t, "99", twee.Type.MaxInclusive)
	inline := root.Child("Code")
	assert.Equal(t, [2]int{0, -1}, [2]int{inline.Min, inline.Max}, "* is 0..unbounded")
	assert.Equal(t, "", inline.TypeName, "an inline restriction has no type name")
	assert.Equal(t, []string{"1"}, inline.Type.Patterns)
	assert.Same(t, code, inline.Type.BaseType)
	assert.Equal(t, "xs:string", inline.Type.Primitive())
}

func TestParseModelErrors(t *testing.T) {
	tests := []struct {
		name, model, want string
	}{
		{"no standard", "schema basisschema\n", "first directive must be standard"},
		{"unknown directive", "standard iwmo 3.2\nfoo bar\n", `unknown directive "foo"`},
		{"space indent", "standard iwmo 3.2\nschema basisschema\ncomplex A\n  B LDT_X\n", "tabs, not spaces"},
		{"unknown soort", "standard iwmo 3.2\nschema basisschema\nversie 1 1 1\nschema WMO999\n", "no berichtsoort"},
		{"other standard's soort", "standard iwmo 3.2\nschema basisschema\nversie 1 1 1\nschema JW301\n", "no berichtsoort"},
		{"message before basis", "standard iwmo 3.2\nschema WMO301\n", "must come before"},
		{"bad length", minimalModel("simple LDT_Y xs:string\n\tmaxLength x\n"), "non-negative integer"},
		{"unknown facet", minimalModel("simple LDT_Y xs:string\n\ttotalDigits 3\n"), `unknown facet "totalDigits"`},
		{"unknown type", minimalModel("complex Extra\n\tA LDT_Bestaatniet\n"), "unknown type LDT_Bestaatniet"},
		{"duplicate element", minimalModel("complex Extra\n\tA LDT_Code\n\tA? LDT_Code\n"), "element A given twice"},
		{"duplicate type", minimalModel("complex Root\n\tA LDT_Code\n"), "type Root declared twice"},
		{"bad cardinality", minimalModel("complex Extra\n\tA?? LDT_Code\n"), "bad name or cardinality"},
		{"facets on complex", minimalModel("complex Extra\n\tA CDT_Paar\n\t\tpattern x\n"), "facets on complex type"},
		{"too deep", minimalModel("complex Extra\n\tA LDT_Code\n\t\t\tpattern x\n"), "indented too deep"},
		{"cycle", minimalModel("complex Lus\n\tA? Lus\n"), "contains itself"},
		{"facet outside type", "standard iwmo 3.2\n\tpattern x\n", "outside a complex or simple type"},
		{"named type on named type", minimalModel("simple LDT_Y LDT_Code\n"), "no built-in type"},
		{"missing messages", "standard iwmo 3.2\nschema basisschema\nversie 1 1 1\n", "no schema for WMO301"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseModel("test.model", []byte(tt.model))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.Contains(t, err.Error(), "test.model")
		})
	}
}

func TestLoadNeedsEveryStandard(t *testing.T) {
	only := fstest.MapFS{"model/iwmo-3.2.model": {Data: []byte(minimalModel(""))}}
	_, err := load(only)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no model for ijw 3.2 JW301")

	_, err = load(fstest.MapFS{})
	assert.ErrorContains(t, err, "reading embedded models")
}

// FuzzParseModel checks the model reader never panics, whatever the file
// holds: an error or a resolved model.
func FuzzParseModel(f *testing.F) {
	f.Add([]byte(minimalModel("")))
	f.Add([]byte("standard iwmo 3.2\nschema basisschema\ncomplex A\n\tB? LDT_X\n\t\tpattern x\n"))
	f.Add([]byte("standard ijw 3.2\n\n\tx\n\t\t\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := parseModel("fuzz.model", data)
		if err != nil {
			return
		}
		for _, s := range m.messages {
			root := m.lookup(s, s.rootType).(*complexType)
			m.tree(s, root, s.rootName, s.rootName, 1, 1, s.namespace)
			m.xsd(s)
		}
		m.xsd(m.basis)
	})
}

// BenchmarkLoad measures what the first use of the model costs: parsing
// both model files and building the 28 element trees.
func BenchmarkLoad(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := load(modelFS); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGenerateXSD measures generating the 30 schema documents.
func BenchmarkGenerateXSD(b *testing.B) {
	c := loaded()
	b.ReportAllocs()
	for b.Loop() {
		for _, m := range c.models {
			m.xsd(m.basis)
			for _, s := range m.messages {
				m.xsd(s)
			}
		}
	}
}
