package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/conformance"
	"github.com/knooppunt/knooppunt/node"
	"github.com/knooppunt/knooppunt/sample"
	"github.com/knooppunt/knooppunt/store/pebble"
)

func conformanceRun(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(append([]string{"conformance"}, args...), strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// lastLine is the summary line of a run's output.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

func TestConformanceRunInProcess(t *testing.T) {
	junit := filepath.Join(t.TempDir(), "report.xml")
	code, out, errs := conformanceRun(t, "run", "--run", "^(happy-wmo301|dedup-conflict|rule-cs002-wmo301)$", "--junit", junit, "../../conformance/testdata")
	require.Equal(t, 0, code, "stdout: %s\nstderr: %s", out, errs)
	assert.Equal(t, "3 passed, 0 failed", lastLine(out))
	assert.Contains(t, out, "ok   rule-cs002-wmo301 (", "the in-process switch answers rule breaches itself")
	assert.Contains(t, out, "ok   happy-wmo301 (")

	data, err := os.ReadFile(junit)
	require.NoError(t, err)
	var suite struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Skipped  int `xml:"skipped,attr"`
	}
	require.NoError(t, xml.Unmarshal(data, &suite))
	assert.Equal(t, 3, suite.Tests)
	assert.Equal(t, 0, suite.Failures)
	assert.Equal(t, 0, suite.Skipped)
}

// TestConformanceRunRepeatable runs the whole suite in-process five times
// in a row at the default parallelism and five times at 8, as a vendor
// would: a verdict that depended on timing would show as a failure in one
// of the ten runs.
func TestConformanceRunRepeatable(t *testing.T) {
	cases, err := conformance.Load("../../conformance/testdata")
	require.NoError(t, err)
	want := fmt.Sprintf("%d passed, 0 failed", len(cases))
	for _, parallel := range []string{"", "8"} {
		for i := range 5 {
			args := []string{"run", "-q"}
			if parallel != "" {
				args = append(args, "--parallel", parallel)
			}
			code, out, errs := conformanceRun(t, append(args, "../../conformance/testdata")...)
			require.Equal(t, 0, code, "run %d with --parallel %q\nstdout: %s\nstderr: %s", i+1, parallel, out, errs)
			require.Equal(t, want, lastLine(out), "run %d with --parallel %q:\n%s", i+1, parallel, out)
		}
	}
}

func TestConformanceRunReportsFailureLine(t *testing.T) {
	dir := t.TempDir()
	// Line 4 expects the wrong outcome: a valid toewijzing is accepted.
	text := "# deliberately wrong\nmessage heen sample WMO301 afzender=0384 ontvanger=42420001\npost 0384 heen\nexpect 422 xsd-invalid\n"
	p := filepath.Join(dir, "wrong.case")
	require.NoError(t, os.WriteFile(p, []byte(text), 0o600))
	code, out, _ := conformanceRun(t, "run", "-q", dir)
	assert.Equal(t, 1, code)
	assert.Contains(t, out, p+":4: want HTTP status 422 after post, got 202")
	assert.Equal(t, "0 passed, 1 failed", lastLine(out))
}

func TestConformanceRunUsage(t *testing.T) {
	for _, args := range [][]string{
		{"run", "--token", "no-equals-sign", "../../conformance/testdata"},
		{"run", "--run", "(", "../../conformance/testdata"},
		{"run", t.TempDir()}, // no cases
		{"nonsense"},
		{},
	} {
		code, _, errs := conformanceRun(t, args...)
		assert.Equal(t, 2, code, "%v", args)
		assert.NotEmpty(t, errs, "%v", args)
	}
}

func TestConformanceCheck(t *testing.T) {
	dir := t.TempDir()
	s, _ := bericht.Lookup("JW315")
	m, err := sample.New(3).Heen(s, sample.Options{Afzender: "42420001", Ontvanger: "0384"})
	require.NoError(t, err)
	good := filepath.Join(dir, "good.xml")
	require.NoError(t, os.WriteFile(good, m.XML, 0o600))
	bad := filepath.Join(dir, "bad.xml")
	require.NoError(t, os.WriteFile(bad, bytes.Replace(m.XML, []byte(">42420001<"), []byte(">4242<"), 1), 0o600))

	rs, _ := bericht.Lookup("WMO307")
	r, err := sample.New(4).Heen(rs, sample.Options{Afzender: "42420001", Ontvanger: "0384", Violate: "TR018"})
	require.NoError(t, err)
	rule := filepath.Join(dir, "rule.xml")
	require.NoError(t, os.WriteFile(rule, r.XML, 0o600))

	tests := []struct {
		name  string
		files []string
		code  int
		want  []string
	}{
		{"valid", []string{good}, 0, []string{good + ": accepted: JW315 ", "from 42420001 to 0384"}},
		{"invalid", []string{bad}, 1, []string{bad + ": refused: 422 xsd-invalid", "  line 7 column "}},
		{"both", []string{good, bad}, 1, []string{": accepted", ": refused"}},
		{"level 2", []string{rule}, 1, []string{rule + ": refused at control level 2: the switch answers with a WMO308 carrying RetourCode 0001", " TR018 (retourcode 0001)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, _ := conformanceRun(t, append([]string{"check"}, tt.files...)...)
			assert.Equal(t, tt.code, code)
			for _, w := range tt.want {
				assert.Contains(t, out, w)
			}
		})
	}
}

// TestConformanceRunTarget runs cases over HTTP against a switch started
// apart, as the parties of a tokens file; a lease case is skipped since
// the target's lease is not given.
func TestConformanceRunTarget(t *testing.T) {
	n, err := node.Start(context.Background(), node.Config{Dev: true, Addr: "127.0.0.1:0", Store: pebble.Config{Dir: t.TempDir()}})
	require.NoError(t, err)
	defer n.Close()
	tokens := filepath.Join(t.TempDir(), "tokens.txt")
	require.NoError(t, os.WriteFile(tokens, []byte("# parties\n0384=dev-0384\n0363=dev-0363\n\n42420001=dev-42420001\n"), 0o600))

	code, out, errs := conformanceRun(t, "run", "--target", n.URL(), "--tokens", tokens, "--run", "^(happy-wmo301|lease-redelivery|route-spoofing)$", "../../conformance/testdata")
	require.Equal(t, 0, code, "stdout: %s\nstderr: %s", out, errs)
	assert.Equal(t, "2 passed, 0 failed, 1 skipped", lastLine(out))
	assert.Contains(t, out, "SKIP lease-redelivery: needs the target's lease")

	// A wrong token for the sender turns the happy path into a failure.
	code, out, _ = conformanceRun(t, "run", "-q", "--target", n.URL(), "--token", "0384=wrong", "--token", "42420001=dev-42420001", "--run", "^happy-wmo301$", "../../conformance/testdata")
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "happy-wmo301.case:5: want HTTP status 202 after post, got 401")
}
