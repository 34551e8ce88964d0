package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/sample"
)

func retourRun(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(append([]string{"retour"}, args...), strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestRetourBuild(t *testing.T) {
	s, _ := bericht.Lookup("WMO305")
	m, err := sample.New(9).Heen(s, sample.Options{Products: 2})
	require.NoError(t, err)
	heen := writeFile(t, "heen.xml", m.XML)
	codes := writeFile(t, "codes.yaml", []byte("classes:\n  - path: Client/StartProducten/StartProduct[2]\n    codes: [\"9063\"]\n"))

	t.Run("to stdout, validated", func(t *testing.T) {
		code, out, errOut := retourRun(t, "", "build", "--heen", heen, "--codes", codes, "--id", "R1", "--date", "2026-11-05")
		require.Equal(t, 0, code, errOut)
		assert.Contains(t, out, "<wmo306:IdentificatieRetour>R1<")
		assert.Contains(t, out, "<wmo306:DagtekeningRetour>2026-11-05<")
		assert.Contains(t, out, "<wmo306:RetourCode>9063<")
		code, vout, _ := validateRun(t, out, "-")
		assert.Equal(t, 0, code, vout)
	})
	t.Run("accepted from stdin to a file", func(t *testing.T) {
		dst := filepath.Join(t.TempDir(), "retour.xml")
		code, _, errOut := retourRun(t, string(m.XML), "build", "--heen", "-", "--out", dst)
		require.Equal(t, 0, code, errOut)
		got, err := os.ReadFile(dst)
		require.NoError(t, err)
		assert.NotContains(t, string(got), "RetourCodes", "accepted: the header alone")
		assert.Contains(t, errOut, "WMO306")
	})
	for _, tc := range []struct {
		name string
		args []string
		want int
	}{
		{"no subcommand", nil, 2},
		{"no heen", []string{"build"}, 2},
		{"bad date", []string{"build", "--heen", heen, "--date", "5-11-2026"}, 2},
		{"missing file", []string{"build", "--heen", filepath.Join(t.TempDir(), "none.xml")}, 2},
		{"invalid heen", []string{"build", "--heen", writeFile(t, "bad.xml", []byte("<x/>"))}, 1},
		{"bad codes", []string{"build", "--heen", heen, "--codes", writeFile(t, "c.yaml", []byte("classes:\n  - path: Client/Bsn\n    codes: [\"9063\"]\n"))}, 1},
		{"unknown key", []string{"build", "--heen", heen, "--codes", writeFile(t, "k.yaml", []byte("hdr: [\"0001\"]\n"))}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, _ := retourRun(t, "", tc.args...)
			assert.Equal(t, tc.want, code)
			assert.Empty(t, out)
		})
	}
}
