package sample

import (
	"encoding/xml"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/bericht"
)

// TestViolations: a message made to break a rule still passes the XSD,
// breaks exactly that rule, and differs from the valid message of the same
// seed only where the rule says.
func TestViolations(t *testing.T) {
	set := loadSchemas(t)
	covered := map[string]bool{}
	for _, s := range bericht.All() {
		for code := range Violations(s) {
			covered[code] = true
			for seed := range 20 {
				today := time.Now().UTC().Format(dateLayout) // before generating: no midnight race
				m, err := New(int64(seed)).Generate(s, Options{Violate: code, Products: 2})
				require.NoError(t, err)
				require.NoError(t, set.validate(s, m.XML), "%s %s seed %d", s.Name, code, seed)
				l := leaves(t, m.XML)
				switch code {
				case "CS002":
					assert.False(t, Elfproef(l["Bsn"][0]), s.Name)
					for _, bsn := range l["Bsn"][1:] {
						assert.True(t, Elfproef(bsn), s.Name)
					}
				case "TR135":
					assert.Greater(t, m.Header.Dagtekening, today)
				case "TR018":
					assert.Less(t, l["Einddatum"][0], l["Begindatum"][0])
				case "TR358":
					var d struct {
						D decl `xml:"Declaratie"`
					}
					require.NoError(t, xml.Unmarshal(m.XML, &d))
					var sum int64
					for _, p := range d.D.Prestaties {
						sum += p.Bedrag.signed(false)
					}
					assert.Equal(t, sum+1, d.D.Totaal.signed(true))
				case "CD085":
					assert.Equal(t, []string{"1"}, l["VerzoekAntwoord"])
					assert.Empty(t, l["RedenAfwijzingVerzoek"])
				default:
					t.Fatalf("no check for %s", code)
				}
			}
		}
	}
	assert.Len(t, covered, len(violations))
}

func TestViolationErrors(t *testing.T) {
	g := New(1)
	wmo301, _ := bericht.Lookup("WMO301")
	_, err := g.Generate(wmo301, Options{Violate: "TR358"})
	require.ErrorContains(t, err, `cannot violate "TR358"`)
	require.ErrorContains(t, err, "CS002")
	_, err = g.Generate(wmo301, Options{Violate: "XX999"})
	require.Error(t, err)
	wmo302, _ := bericht.Lookup("WMO302")
	_, err = g.Generate(wmo302, Options{Violate: "CS002"})
	require.ErrorContains(t, err, "cannot violate")
	assert.Empty(t, Violations(wmo302))
	jw319, _ := bericht.Lookup("JW319")
	assert.Contains(t, Violations(jw319), "CD085")
	assert.NotContains(t, Violations(jw319), "CS002")
}
