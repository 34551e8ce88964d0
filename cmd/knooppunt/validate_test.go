package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/sample"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// validateRun runs "knooppunt validate args..." and returns exit status,
// stdout and stderr.
func validateRun(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(append([]string{"validate"}, args...), strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// writeMessages writes a generated message of each named berichtsoort to a
// temporary directory and returns the paths.
func writeMessages(t *testing.T, names ...string) []string {
	t.Helper()
	dir := t.TempDir()
	g := sample.New(5)
	var paths []string
	for _, name := range names {
		s, ok := bericht.Lookup(name)
		require.True(t, ok, name)
		m, err := g.Generate(s, sample.Options{})
		require.NoError(t, err)
		p := filepath.Join(dir, name+".xml")
		require.NoError(t, os.WriteFile(p, m.XML, 0o600))
		paths = append(paths, p)
	}
	return paths
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, data, 0o600))
	return p
}

func TestValidateValidFiles(t *testing.T) {
	paths := writeMessages(t, "WMO301", "JW325", "WMO302")
	code, out, errs := validateRun(t, "", paths...)
	require.Equal(t, 0, code, errs)
	require.Empty(t, errs)
	want := ""
	for _, p := range paths {
		s, _ := bericht.Lookup(strings.TrimSuffix(filepath.Base(p), ".xml"))
		want += fmt.Sprintf("%s: ok %s\n", p, s)
	}
	require.Equal(t, want, out)
}

func TestValidateViolationLines(t *testing.T) {
	good := writeMessages(t, "WMO301")[0]
	data, err := os.ReadFile(good)
	require.NoError(t, err)
	i := bytes.Index(data, []byte("<wmo301:Afzender>"))
	require.Positive(t, i)
	bad := append(append(append([]byte{}, data[:i]...), "<wmo301:Afzender>1</wmo301:Afzender><wmo301:Afzender>"...), data[i+len("<wmo301:Afzender>"):]...)
	badPath := writeFile(t, "bad.xml", bad)

	code, out, _ := validateRun(t, "", good, badPath)
	require.Equal(t, 1, code)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.Equal(t, good+": ok iwmo 3.2 WMO301", lines[0])
	require.Greater(t, len(lines), 1)
	before := string(bad[:i])
	wantLine := strings.Count(before, "\n") + 1
	wantCol := len([]rune(before[strings.LastIndex(before, "\n")+1:])) + 1
	require.True(t, strings.HasPrefix(lines[1], fmt.Sprintf("%s:%d:%d: Element '", badPath, wantLine, wantCol)), lines[1])
	require.Contains(t, lines[1], "Afzender")
}

func TestValidateRefusals(t *testing.T) {
	data, err := os.ReadFile(writeMessages(t, "WMO301")[0])
	require.NoError(t, err)
	code := bytes.Replace(data, []byte(">414<"), []byte(">436<"), 1)
	before := string(code[:bytes.Index(code, []byte("<wmo301:BerichtCode>"))])
	codeAt := fmt.Sprintf(":%d:%d: ", strings.Count(before, "\n")+1, len(before)-strings.LastIndex(before, "\n"))
	tests := []struct {
		name, want string
		data       []byte
	}{
		// Every refusal but an empty file's points at what it concerns.
		{"berichtcode", codeAt + `BerichtCode "436" does not match the root namespace`, code},
		{"doctype", ":1:1: the message has a document type declaration", []byte("<!DOCTYPE x><x/>")},
		{"empty", ": empty: ", nil},
		{"release", ":1:1: iwmo release 3.1 is not carried", []byte(`<Bericht xmlns="http://www.istandaarden.nl/iwmo/3_1/wmo301/schema"/>`)},
		{"root", ":2:1: the root element is not Bericht", []byte("<?xml version=\"1.0\"?>\n<Toewijzing/>")},
		{"not well-formed", ":1:", []byte("<Bericht>")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeFile(t, "m.xml", tt.data)
			code, out, _ := validateRun(t, "", p)
			require.Equal(t, 1, code)
			require.True(t, strings.HasPrefix(out, p+tt.want), out)
		})
	}
}

func TestValidateStdinAndJSON(t *testing.T) {
	path := writeMessages(t, "JW301")[0]
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	code, out, _ := validateRun(t, string(data), "-")
	require.Equal(t, 0, code)
	require.Equal(t, "<stdin>: ok ijw 3.2 JW301\n", out)

	bad := bytes.Replace(data, []byte(">436<"), []byte(">437<"), 1)
	code, out, _ = validateRun(t, string(bad), "--json", path, "-")
	require.Equal(t, 1, code)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 2)
	var ok, refused fileResult
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &ok))
	require.NoError(t, json.Unmarshal([]byte(lines[1]), &refused))
	assert.True(t, ok.Valid)
	assert.Equal(t, "ijw 3.2 JW301", ok.Soort)
	require.NotNil(t, ok.Header)
	assert.Equal(t, "436", ok.Header.BerichtCode)
	assert.False(t, refused.Valid)
	assert.Equal(t, "berichtcode-mismatch", refused.Code)
	assert.Equal(t, "<stdin>", refused.File)
}

func TestValidateUsageAndIOErrors(t *testing.T) {
	good := writeMessages(t, "WMO305")[0]
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"help", []string{"--help"}, 0, "Usage: knooppunt validate", ""},
		{"no files", nil, 2, "", "no FILE given"},
		{"unknown flag", []string{"--bogus", good}, 2, "", "Usage: knooppunt validate"},
		{"missing file wins over valid", []string{good, filepath.Join(t.TempDir(), "absent.xml")}, 2, "ok iwmo 3.2 WMO305", "absent.xml"},
		{"bad schema dir", []string{"--schemas", t.TempDir(), good}, 2, "", "no iWmo/iJw 3.2 message schema"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := validateRun(t, "", tt.args...)
			require.Equal(t, tt.code, code, "stdout %q stderr %q", out, errs)
			require.Contains(t, out, tt.stdout)
			require.Contains(t, errs, tt.stderr)
		})
	}
}

func TestValidateOfficialSchemas(t *testing.T) {
	dir := "../../../shared/istandaarden"
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("skipped: official schemas not found at %s", dir)
	}
	paths, err := filepath.Glob(filepath.Join(dir, "*", "examples", "*.xml"))
	require.NoError(t, err)
	code, out, errs := validateRun(t, "", append([]string{"--schemas", dir}, paths...)...)
	require.Equal(t, 0, code, errs)
	require.Equal(t, len(paths), strings.Count(out, ": ok "))

	invalid, err := filepath.Glob(filepath.Join(dir, "*", "examples-invalid", "*.xml"))
	require.NoError(t, err)
	for _, p := range invalid {
		code, out, _ := validateRun(t, "", "--schemas", dir, p)
		require.Equal(t, 1, code, p)
		require.True(t, strings.HasPrefix(out, p+":"), out)
	}
}

// TestValidateAndCheckReportFilesAlike: both commands read a file and
// describe its validation through the same helpers, so on every field
// validate reports their JSON agrees, and both read standard input once.
func TestValidateAndCheckReportFilesAlike(t *testing.T) {
	good := writeMessages(t, "WMO301")[0]
	data, err := os.ReadFile(good)
	require.NoError(t, err)
	i := bytes.Index(data, []byte("<wmo301:Afzender>"))
	require.Positive(t, i)
	invalid := append(append(append([]byte{}, data[:i]...), "<wmo301:Afzender>1</wmo301:Afzender><wmo301:Afzender>"...), data[i+len("<wmo301:Afzender>"):]...)
	tests := []struct {
		name  string
		stdin []byte
		file  string
		valid bool
		code  string
	}{
		{"valid", data, good, true, ""},
		{"xsd-invalid", invalid, writeFile(t, "invalid.xml", invalid), false, "xsd-invalid"},
		{"not-bericht", []byte("<x/>"), writeFile(t, "x.xml", []byte("<x/>")), false, "not-bericht"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			results := map[string][]fileResult{}
			for _, cmd := range []string{"validate", "check"} {
				var out, errb bytes.Buffer
				code := run([]string{cmd, "--json", tt.file, "-", "-"}, bytes.NewReader(tt.stdin), &out, &errb)
				require.Equal(t, 2, code, "%s: standard input named twice is an I/O error", cmd)
				lines := strings.Split(strings.TrimSpace(out.String()), "\n")
				require.Len(t, lines, 3, cmd)
				for _, l := range lines {
					var r fileResult
					require.NoError(t, json.Unmarshal([]byte(l), &r), cmd)
					results[cmd] = append(results[cmd], r)
				}
			}
			v := results["validate"]
			assert.Equal(t, v, results["check"])
			assert.Equal(t, tt.file, v[0].File)
			for _, r := range v[:2] {
				assert.Equal(t, tt.valid, r.Valid)
				assert.Equal(t, tt.code, r.Code)
				assert.Empty(t, r.IOError)
			}
			assert.Equal(t, "<stdin>", v[1].File)
			assert.Equal(t, fileResult{File: "<stdin>", IOError: "standard input named twice"}, v[2])
		})
	}
}

// TestValidateManyFilesInOrder: files validated by several workers, in
// batches, are reported in argument order, refusals among them, and the
// process's GOMAXPROCS is what it was.
func TestValidateManyFilesInOrder(t *testing.T) {
	good := writeMessages(t, "WMO301", "JW305")
	bad := writeFile(t, "bad.xml", []byte("<x/>"))
	var args, want []string
	for i := range 150 {
		switch {
		case i%7 == 3:
			args = append(args, bad)
			want = append(want, bad+":1:1: the root element is not Bericht")
		case i%2 == 0:
			args = append(args, good[0])
			want = append(want, good[0]+": ok iwmo 3.2 WMO301")
		default:
			args = append(args, good[1])
			want = append(want, good[1]+": ok ijw 3.2 JW305")
		}
	}
	procs := runtime.GOMAXPROCS(0)
	for _, jobs := range []string{"1", "3"} {
		code, out, errs := validateRun(t, "", append([]string{"--jobs", jobs}, args...)...)
		require.Equal(t, 1, code, errs)
		assert.Equal(t, strings.Join(want, "\n")+"\n", out, "--jobs %s", jobs)
	}
	assert.Equal(t, procs, runtime.GOMAXPROCS(0))
}
