package vspclient_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestGeneratedClientsMatchDescriptions runs each client package's
// go:generate line again, into a temporary file, and requires the
// committed client.gen.go to be byte for byte what it gives, so the
// clients cannot drift from the descriptions in ../shared.
func TestGeneratedClientsMatchDescriptions(t *testing.T) {
	goCmd, err := exec.LookPath("go")
	require.NoError(t, err, "the go command runs the generator")
	for _, pkg := range []string{"pull", "push", "status"} {
		t.Run(pkg, func(t *testing.T) {
			t.Parallel()
			args := generateArgs(t, pkg)
			spec := filepath.Join(pkg, args[len(args)-1])
			if _, err := os.Stat(spec); err != nil {
				t.Skipf("skipping: the VSP OpenAPI description %s is not there (../shared beside the repository)", spec)
			}
			i := slices.Index(args, "-o")
			require.True(t, i > 0 && i+1 < len(args), "the go:generate line of %s names its output with -o", pkg)
			committed := filepath.Join(pkg, args[i+1])
			fresh := filepath.Join(t.TempDir(), args[i+1])
			args[i+1] = fresh

			cmd := exec.Command(goCmd, args[1:]...)
			cmd.Dir = pkg
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "%s\n%s", strings.Join(args, " "), out)

			want, err := os.ReadFile(fresh)
			require.NoError(t, err)
			got, err := os.ReadFile(committed)
			require.NoError(t, err)
			if !bytes.Equal(got, want) {
				t.Fatalf("%s is not what oapi-codegen generates from %s (first difference on line %d); run go generate ./internal/vspclient/...",
					committed, spec, firstDiffLine(got, want))
			}
		})
	}
}

// generateArgs returns the words of the go:generate line in pkg/doc.go,
// which must run oapi-codegen through go tool.
func generateArgs(t *testing.T, pkg string) []string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(pkg, "doc.go"))
	require.NoError(t, err)
	for line := range strings.Lines(string(src)) {
		if rest, ok := strings.CutPrefix(line, "//go:generate "); ok {
			args := strings.Fields(rest)
			require.GreaterOrEqual(t, len(args), 4)
			require.Equal(t, []string{"go", "tool", "oapi-codegen"}, args[:3])
			return args
		}
	}
	t.Fatalf("%s/doc.go has no go:generate line", pkg)
	return nil
}

func firstDiffLine(a, b []byte) int {
	la, lb := bytes.Split(a, []byte("\n")), bytes.Split(b, []byte("\n"))
	for i := range min(len(la), len(lb)) {
		if !bytes.Equal(la[i], lb[i]) {
			return i + 1
		}
	}
	return min(len(la), len(lb)) + 1
}
