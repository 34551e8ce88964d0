// Package deploy holds the operations kit — the container image's
// Dockerfile (at the repository's root), the compose cluster, the systemd
// unit, the example registry, the alert rules and the dashboard — and the
// tests that keep it consistent with the switch. No Docker daemon or
// Prometheus is needed: the files are parsed and checked, the image's
// health probe is run against a real node, and every metric the rules and
// the dashboard name is scraped from one.
package deploy

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// repoRoot is the repository, seen from this package's directory.
const repoRoot = ".."

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(data)
}

// flagValue is the value of --name in args, written "--name=v" or
// "--name v"; "" if absent.
func flagValue(args []string, name string) string {
	for i, a := range args {
		for _, prefix := range []string{"-" + name, "--" + name} {
			if v, ok := strings.CutPrefix(a, prefix+"="); ok {
				return v
			}
			if a == prefix && i+1 < len(args) {
				return args[i+1]
			}
		}
	}
	return ""
}

// portOf is the port of a host:port address.
func portOf(addr string) string {
	i := strings.LastIndex(addr, ":")
	if i < 0 {
		return ""
	}
	return addr[i+1:]
}

// exists reports whether path (relative to this directory) exists.
func exists(path string) bool {
	_, err := os.Stat(filepath.FromSlash(path))
	return err == nil
}

// metricName matches the names of the switch's own metrics in an
// expression; up is Prometheus's own series of a scrape target.
var metricName = regexp.MustCompile(`\bknooppunt_[a-z0-9_]+\b|\bup\b`)

func writeFile(path, text string) error { return os.WriteFile(path, []byte(text), 0o600) }
