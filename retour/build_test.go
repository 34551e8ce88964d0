package retour_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/retour"
	"github.com/knooppunt/knooppunt/sample"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden (and create missing testdata/*.heen.xml)")

// goldenCases are the golden tests: testdata/<name>.heen.xml is the
// heenbericht (made once by the sample generator), <name>.codes.yaml the
// recipient's codes, <name>.golden the answer Build must give.
var goldenCases = []struct {
	name  string
	soort string
	opt   sample.Options
}{
	{"wmo301-accepted", "WMO301", sample.Options{Products: 2}},
	{"wmo305-header-8848", "WMO305", sample.Options{Products: 2}},
	{"jw305-startproduct-9063", "JW305", sample.Options{Products: 3}},
	{"wmo307-client-0233", "WMO307", sample.Options{Products: 2}},
	{"jw317-toewijzing-9351", "JW317", sample.Options{Products: 2}},
	{"wmo319-antwoord-9355", "WMO319", sample.Options{}},
	{"jw301-toegewezenproduct-9379", "JW301", sample.Options{Products: 1}},
	{"wmo323-accepted", "WMO323", sample.Options{Clients: 2, Products: 2}},
	{"jw323-prestatie-9307", "JW323", sample.Options{Clients: 3, Products: 2}},
	{"wmo323-client-8187", "WMO323", sample.Options{Clients: 2, Products: 3}},
	{"jw323-declaratie-9333", "JW323", sample.Options{Clients: 2, Products: 1}},
	{"wmo323-header-0001", "WMO323", sample.Options{Clients: 1, Products: 1}},
}

func TestBuildGolden(t *testing.T) {
	sets := schemaSets(t)
	for i, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			base := filepath.Join("testdata", tc.name)
			heen, err := os.ReadFile(base + ".heen.xml")
			if os.IsNotExist(err) && *update {
				s, _ := bericht.Lookup(tc.soort)
				opt := tc.opt
				opt.Dagtekening = time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
				m, gerr := sample.New(int64(100+i)).Heen(s, opt)
				require.NoError(t, gerr)
				heen = m.XML
				require.NoError(t, os.WriteFile(base+".heen.xml", heen, 0o644))
				err = nil
			}
			require.NoError(t, err)
			_, err = embedded(t).Validate(heen)
			require.NoError(t, err, "the heenbericht of a golden test must be valid")

			data, err := os.ReadFile(base + ".codes.yaml")
			require.NoError(t, err)
			codes, err := retour.ParseCodes(data)
			require.NoError(t, err)
			r, err := retour.Build(heen, codes, retour.Options{
				Identificatie: "RET000000001",
				Date:          time.Date(2026, 11, 5, 9, 0, 0, 0, time.UTC),
			})
			require.NoError(t, err)

			for name, set := range sets {
				got, err := set.Validate(r.XML)
				require.NoError(t, err, "%s schema refuses:\n%s", name, r.XML)
				assert.Equal(t, r.Header, got)
			}
			if *update {
				require.NoError(t, os.WriteFile(base+".golden", r.XML, 0o644))
			}
			want, err := os.ReadFile(base + ".golden")
			require.NoError(t, err, "run go test ./retour -run TestBuildGolden -update")
			assert.Equal(t, string(want), string(r.XML))
		})
	}
}

// count is how often the answer's message-namespace element name occurs
// as a start tag.
func count(xml []byte, soort, name string) int {
	return bytes.Count(xml, []byte("<"+strings.ToLower(soort)+":"+name+">"))
}

// TestBuildConstruction checks the construction rules on generated
// messages, beside the goldens: which classes get which code, which
// clients are listed, what the 325 totals are.
func TestBuildConstruction(t *testing.T) {
	day := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	gen := func(soort string, opt sample.Options) []byte {
		s, _ := bericht.Lookup(soort)
		opt.Dagtekening = day
		m, err := sample.New(7).Heen(s, opt)
		require.NoError(t, err)
		return m.XML
	}
	build := func(heen []byte, yaml string) *retour.Retour {
		codes, err := retour.ParseCodes([]byte(yaml))
		require.NoError(t, err)
		r, err := retour.Build(heen, codes, retour.Options{})
		require.NoError(t, err)
		_, err = embedded(t).Validate(r.XML)
		require.NoError(t, err, "%s", r.XML)
		return r
	}

	t.Run("accepted retour is the header without codes", func(t *testing.T) {
		r := build(gen("JW315", sample.Options{}), "")
		assert.Empty(t, r.Codes)
		assert.Zero(t, count(r.XML, "JW316", "RetourCodes"))
		assert.Zero(t, count(r.XML, "JW316", "Client"))
	})
	t.Run("a coded product line returns the client with every class coded", func(t *testing.T) {
		r := build(gen("WMO301", sample.Options{Products: 3}), "classes:\n  - path: Client/ToegewezenProducten/ToegewezenProduct[2]\n    codes: [\"9332\"]\n")
		assert.Equal(t, []string{"0200"}, r.Codes)
		assert.Equal(t, 1, count(r.XML, "WMO302", "Client"))
		assert.Equal(t, 3, count(r.XML, "WMO302", "ToegewezenProduct"))
		assert.Equal(t, 1, bytes.Count(r.XML, []byte("<wmo302:RetourCode>9332<")))
		classes := count(r.XML, "WMO302", "RetourCodes")
		assert.Equal(t, classes-1, bytes.Count(r.XML, []byte("<wmo302:RetourCode>0200<")), "every other class 0200")
	})
	t.Run("default 0233 marks the rest not assessed", func(t *testing.T) {
		r := build(gen("WMO305", sample.Options{Products: 2}), "default: \"0233\"\nclasses:\n  - path: Client\n    codes: [\"9019\"]\n")
		assert.Equal(t, 2, bytes.Count(r.XML, []byte("<wmo306:RetourCode>0233<")))
		assert.Equal(t, 1, bytes.Count(r.XML, []byte("<wmo306:RetourCode>9019<")))
	})
	t.Run("325 fully approved", func(t *testing.T) {
		r := build(gen("JW323", sample.Options{Clients: 2}), "")
		x := string(r.XML)
		assert.Equal(t, []string{"0200"}, r.Codes)
		assert.Contains(t, x, "<jw325:RetourCode>8001<")
		assert.Zero(t, count(r.XML, "JW325", "Clienten"))
		ingediend := between(x, "<jw325:TotaalIngediendBedrag>", "</jw325:TotaalIngediendBedrag>")
		assert.Equal(t, ingediend, between(x, "<jw325:TotaalToegekendBedrag>", "</jw325:TotaalToegekendBedrag>"))
	})
	t.Run("325 lists only the rejected prestatie and lowers the total", func(t *testing.T) {
		heen := gen("WMO323", sample.Options{Clients: 2, Products: 2})
		r := build(heen, "classes:\n  - path: Declaratie/Clienten/Client[2]/Prestaties/Prestatie[2]\n    codes: [\"9308\"]\n")
		x := string(r.XML)
		assert.Equal(t, 1, count(r.XML, "WMO325", "Client"))
		assert.Equal(t, 1, count(r.XML, "WMO325", "Prestatie"))
		assert.NotEqual(t, between(x, "<wmo325:TotaalIngediendBedrag>", "</wmo325:TotaalIngediendBedrag>"),
			between(x, "<wmo325:TotaalToegekendBedrag>", "</wmo325:TotaalToegekendBedrag>"))
	})
	t.Run("a rejected client lists all its prestaties as not assessed", func(t *testing.T) {
		heen := gen("WMO323", sample.Options{Clients: 2, Products: 3})
		r := build(heen, "classes:\n  - path: Declaratie/Clienten/Client[1]\n    codes: [\"8187\"]\n")
		assert.Equal(t, 3, bytes.Count(r.XML, []byte("<wmo325:RetourCode>0233<")))
		assert.Equal(t, 1, bytes.Count(r.XML, []byte("<wmo325:RetourCode>8187<")))
	})
}

func between(s, from, to string) string {
	i := strings.Index(s, from)
	if i < 0 {
		return ""
	}
	s = s[i+len(from):]
	if j := strings.Index(s, to); j >= 0 {
		return s[:j]
	}
	return ""
}

func TestBuildRefusals(t *testing.T) {
	s, _ := bericht.Lookup("JW305")
	m, err := sample.New(3).Heen(s, sample.Options{Products: 2})
	require.NoError(t, err)
	for _, tc := range []struct {
		name, heen, codes, code string
	}{
		{"not xml", "<<", "", retour.CodeBadHeen},
		{"not bericht", `<x xmlns="urn:x"/>`, "", retour.CodeBadHeen},
		{"unknown namespace", `<Bericht xmlns="urn:x"/>`, "", retour.CodeBadHeen},
		{"unknown key", "", "klasses: []\n", retour.CodeBadCodes},
		{"bad default", "", "default: \"9999\"\n", retour.CodeBadCodes},
		{"no codes", "", "classes:\n  - path: Client\n", retour.CodeBadCodes},
		{"path and bsn", "", "classes:\n  - path: Client\n    bsn: \"1\"\n    codes: [\"9019\"]\n", retour.CodeBadCodes},
		{"bad position", "", "classes:\n  - path: Client[0]\n    codes: [\"9019\"]\n", retour.CodeBadCodes},
		{"path names nothing", "", "classes:\n  - path: Client/StartProducten/StartProduct[9]\n    codes: [\"9019\"]\n", retour.CodeBadCodes},
		{"path not a class", "", "classes:\n  - path: Client/Bsn\n    codes: [\"9019\"]\n", retour.CodeBadCodes},
		{"unknown bsn", "", "classes:\n  - bsn: \"123456782\"\n    codes: [\"9019\"]\n", retour.CodeBadCodes},
		{"unknown retourcode", "", "header: [\"1234\"]\n", retour.CodeBadRetourCode},
	} {
		t.Run(tc.name, func(t *testing.T) {
			heen := m.XML
			if tc.heen != "" {
				heen = []byte(tc.heen)
			}
			codes, err := retour.ParseCodes([]byte(tc.codes))
			if err == nil {
				_, err = retour.Build(heen, codes, retour.Options{})
			}
			var re *retour.Error
			require.ErrorAs(t, err, &re)
			assert.Equal(t, tc.code, re.Code)
			assert.NotContains(t, err.Error(), "123456782", "errors do not quote a bsn")
		})
	}
	t.Run("an answer has no answer", func(t *testing.T) {
		s, _ := bericht.Lookup("WMO302")
		a, err := sample.New(3).Generate(s, sample.Options{})
		require.NoError(t, err)
		_, err = retour.Build(a.XML, nil, retour.Options{})
		var re *retour.Error
		require.ErrorAs(t, err, &re)
		assert.Equal(t, retour.CodeNoAnswer, re.Code)
	})
}
