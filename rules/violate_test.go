package rules

import (
	"sort"
	"strings"
	"testing"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/sample"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSampleViolations: every violation the generator can make on purpose
// is caught by its rule, unless the rule is not of level 2 (TR135 needs
// the clock: level 4).
func TestSampleViolations(t *testing.T) {
	checked := 0
	for _, s := range bericht.All() {
		var names []string
		for name := range sample.Violations(s) {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			t.Run(s.Name+"/"+name, func(t *testing.T) {
				m, err := sample.New(3).Generate(s, sample.Options{Violate: name})
				require.NoError(t, err)
				found := check(t, m.XML)
				r, ok := Lookup(name)
				if !ok || !r.Checked() {
					assert.Empty(t, found, "%s is no level-2 rule: nothing else may fire", name)
					return
				}
				checked++
				assert.Contains(t, codes(found), name)
			})
		}
	}
	assert.Positive(t, checked)
}

// TestFindingsCarryNoValues: a finding names the rule and the place, never
// a value of the message (BSN, names, dates), so it may be logged.
func TestFindingsCarryNoValues(t *testing.T) {
	d := generate(t, "WMO301", sample.Options{Dagtekening: day})
	bsn := "123456788"
	d.set(d.one("//Client/Bsn"), "", bsn)
	d.set(d.one("//Client"), "Geboortedatum/Datum", "1888-08-08")
	d.drop(d.one("//Client/Geboortedatum"), "DatumGebruik")
	name := d.one("//Client/Naam/Geslachtsnaam/Achternaam").Text()
	found := check(t, d.bytes())
	require.Subset(t, codes(found), []string{"CS002", "TR002"})
	for _, f := range found {
		require.NotEmpty(t, f.Text)
		for _, s := range []string{f.String(), f.Path, f.Text} {
			assert.NotContains(t, s, bsn)
			assert.NotContains(t, s, "1888")
			assert.False(t, strings.Contains(s, name), "finding %q quotes the client's name", s)
		}
	}
}

func TestElfproef(t *testing.T) {
	for _, c := range []struct {
		bsn  string
		want bool
	}{
		{"123456782", true},
		{"111222333", true},
		{"123456788", false},
		{"12345678", false},
		{"1234567820", false},
		{"12345678a", false},
		{"", false},
	} {
		assert.Equal(t, c.want, Elfproef(c.bsn), c.bsn)
	}
	g := sample.New(1)
	for range 100 {
		bsn := g.BSN()
		assert.True(t, Elfproef(bsn), "generated BSN")
		last := bsn[8] - '0'
		assert.False(t, Elfproef(bsn[:8]+string('0'+(last+1)%10)), "one digit off")
	}
}

func TestParseDate(t *testing.T) {
	for _, c := range []struct {
		in   string
		want date
		ok   bool
	}{
		{"2025-03-14", date{2025, 3, 14}, true},
		{" 2024-02-29\n", date{2024, 2, 29}, true},
		{"12025-01-01", date{12025, 1, 1}, true},
		{"-0001-12-31", date{-1, 12, 31}, true},
		{"2023-02-29", date{}, false},
		{"2025-13-01", date{}, false},
		{"2025-3-14", date{}, false},
		{"", date{}, false},
		{"2025-03-14Z", date{}, false},
	} {
		got, ok := parseDate(c.in)
		assert.Equal(t, c.ok, ok, c.in)
		assert.Equal(t, c.want, got, c.in)
	}
	assert.Equal(t, date{2023, 2, 28}, date{2024, 2, 29}.addYears(-1))
}
