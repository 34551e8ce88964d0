package main

import (
	"bytes"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/sample"
)

func runCmd(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// rootOf returns the namespace and the Identificatie of a message.
func rootOf(t *testing.T, msg []byte) (ns, afzender, dagtekening string) {
	t.Helper()
	var d struct {
		XMLName xml.Name
		Header  struct {
			Afzender    string
			Dagtekening string `xml:"BerichtIdentificatie>Dagtekening"`
		}
	}
	require.NoError(t, xml.Unmarshal(msg, &d))
	return d.XMLName.Space, d.Header.Afzender, d.Header.Dagtekening
}

func TestSampleToStdout(t *testing.T) {
	code, out, errs := runCmd("sample", "--type", "jw323", "--seed", "4", "--afzender", "87654321", "--dagtekening", "2026-02-03", "--clients", "2", "--products", "2")
	require.Equal(t, 0, code, errs)
	s, _ := bericht.Lookup("JW323")
	ns, afz, dag := rootOf(t, []byte(out))
	assert.Equal(t, s.Namespace, ns)
	assert.Equal(t, "87654321", afz)
	assert.Equal(t, "2026-02-03", dag)
	assert.Equal(t, 4, strings.Count(out, "<jw323:Prestatie>"))

	// The same seed and flags give the same message.
	_, again, _ := runCmd("sample", "--type", "JW323", "--seed", "4", "--afzender", "87654321", "--dagtekening", "2026-02-03", "--clients", "2", "--products", "2")
	assert.Equal(t, out, again)
}

func TestSampleAllToDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	code, out, errs := runCmd("sample", "--type", "all", "--n", "2", "--out", dir)
	require.Equal(t, 0, code, errs)
	assert.Empty(t, out)
	assert.Contains(t, errs, "wrote 56 messages")
	for _, s := range bericht.All() {
		for _, name := range []string{s.Name + "-0001.xml", s.Name + "-0002.xml"} {
			b, err := os.ReadFile(filepath.Join(dir, name))
			require.NoError(t, err)
			ns, _, _ := rootOf(t, b)
			assert.Equal(t, s.Namespace, ns, name)
		}
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 56)
}

func TestSampleHelpAndErrors(t *testing.T) {
	code, out, _ := runCmd("sample", "--help")
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "Usage: knooppunt sample --type SOORT")
	assert.Contains(t, out, "-seed")

	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "--type is required"},
		{[]string{"--type", "WMO303"}, `unknown berichtsoort "WMO303"`},
		{[]string{"--type", "WMO301", "--n", "2"}, "need --out"},
		{[]string{"--type", "all"}, "28 messages need --out"},
		{[]string{"--type", "WMO301", "--n", "0"}, "at least 1"},
		{[]string{"--type", "WMO301", "--products", "-1"}, "cannot be negative"},
		{[]string{"--type", "WMO301", "--dagtekening", "2026-13-01"}, "not a date"},
		{[]string{"--type", "WMO301", "extra"}, `unexpected argument "extra"`},
		{[]string{"--nope"}, "flag provided but not defined"},
	} {
		code, out, errs := runCmd(append([]string{"sample"}, tc.args...)...)
		assert.Equal(t, 2, code, tc.args)
		assert.Empty(t, out, tc.args)
		assert.Contains(t, errs, tc.want, tc.args)
	}
}

func TestSampleUnwritableOut(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	code, _, errs := runCmd("sample", "--type", "WMO301", "--out", file)
	assert.Equal(t, 2, code)
	assert.Contains(t, errs, "creating")
}

func TestSampleViolate(t *testing.T) {
	code, out, errs := runCmd("sample", "--type", "WMO305", "--violate", "cs002")
	require.Equal(t, 0, code, errs)
	var d struct {
		Bsn string `xml:"Client>Bsn"`
	}
	require.NoError(t, xml.Unmarshal([]byte(out), &d))
	assert.False(t, sample.Elfproef(d.Bsn), d.Bsn)

	code, out, errs = runCmd("sample", "--type", "WMO305", "--violate", "TR358")
	assert.Equal(t, 2, code)
	assert.Empty(t, out)
	assert.Contains(t, errs, `can violate "TR358"`)

	// With all, only the berichtsoorten that can break the rule.
	dir := t.TempDir()
	code, _, errs = runCmd("sample", "--type", "all", "--violate", "TR358", "--out", dir)
	require.Equal(t, 0, code, errs)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 2)
	assert.Equal(t, "JW323-0001.xml", entries[0].Name())
	assert.Equal(t, "WMO323-0001.xml", entries[1].Name())
}

// The command writes exactly what the package generates for the seed.
func TestSampleMatchesPackage(t *testing.T) {
	_, out, _ := runCmd("sample", "--type", "WMO302", "--seed", "9", "--dagtekening", "2026-04-01")
	s, _ := bericht.Lookup("WMO302")
	d := mustDate(t, "2026-04-01")
	m, err := sample.New(9).Generate(s, sample.Options{Dagtekening: d})
	require.NoError(t, err)
	assert.Equal(t, string(m.XML), out)
}

func mustDate(t *testing.T, s string) time.Time {
	t.Helper()
	d, err := time.Parse("2006-01-02", s)
	require.NoError(t, err)
	return d
}

func TestSampleTraject(t *testing.T) {
	dir := t.TempDir()
	code, _, errs := runCmd("sample", "--traject", "ijw", "--n", "2", "--out", dir, "--afzender", "0599", "--dagtekening", "2026-06-15")
	require.Equal(t, 0, code, errs)
	assert.Contains(t, errs, "wrote 2 trajecten (20 messages)")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 20)
	assert.Equal(t, "traject-0001-01-JW315.xml", entries[0].Name())
	assert.Equal(t, "traject-0002-10-JW308.xml", entries[19].Name())
	b, err := os.ReadFile(filepath.Join(dir, "traject-0001-03-JW301.xml"))
	require.NoError(t, err)
	_, afz, _ := rootOf(t, b)
	assert.Equal(t, "0599", afz)

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--traject", "wlz", "--out", dir}, "want iwmo or ijw"},
		{[]string{"--traject", "iwmo"}, "needs --out"},
		{[]string{"--traject", "iwmo", "--type", "WMO301", "--out", dir}, "excludes --type"},
	} {
		code, _, errs := runCmd(append([]string{"sample"}, tc.args...)...)
		assert.Equal(t, 2, code, tc.args)
		assert.Contains(t, errs, tc.want, tc.args)
	}
}
