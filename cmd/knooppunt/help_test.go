package main

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// helpOnStderrYet lists the commands whose --help still goes to stderr.
// A command that prints it to stdout fails the test until it is taken off,
// so the list only shrinks.
var helpOnStderrYet = map[string]bool{}

// TestHelpEveryCommand runs every command, and every verb of those that
// take one, with --help and with -h: the usage goes to stdout, nothing to
// stderr, and the exit status is 0.
func TestHelpEveryCommand(t *testing.T) {
	t.Chdir(t.TempDir()) // a command that took --help for an argument would leave files here
	var names []string
	for name := range commands {
		names = append(names, name)
	}
	sort.Strings(names)
	invocations := [][]string{{}}
	for _, name := range names {
		invocations = append(invocations, []string{name})
	}
	verbs := map[string][]string{
		"audit": {"verify"}, "conformance": {"run", "check"}, "keys": {"rotate", "reseal"}, "retour": {"build"},
		"samenloop": {"import", "run"}, "schemas": {"export"}, "store": {"migrate"}, "stuurinfo": {"export"},
	}
	for cmd, vs := range verbs {
		require.Contains(t, commands, cmd)
		for _, v := range vs {
			invocations = append(invocations, []string{cmd, v})
		}
	}
	for _, inv := range invocations {
		for _, flag := range []string{"--help", "-h"} {
			args := append(append([]string{}, inv...), flag)
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				var out, errOut bytes.Buffer
				code := run(args, strings.NewReader(""), &out, &errOut)
				assert.Equal(t, 0, code, "stderr: %s", errOut.String())
				if len(inv) > 0 && helpOnStderrYet[inv[0]] {
					assert.Empty(t, out.String(), "%s prints its help to stdout now: take it off helpOnStderrYet", inv[0])
					assert.Contains(t, errOut.String(), "Usage")
					return
				}
				assert.Contains(t, out.String(), "Usage", "the usage goes to stdout")
				assert.Empty(t, errOut.String())
			})
		}
	}
	left, err := filepath.Glob("*")
	require.NoError(t, err)
	assert.Empty(t, left, "--help wrote files")
}

// TestUsageErrorsGoToStderr: a flag a command does not have is a usage
// error: status 2, the error and the usage on stderr, nothing on stdout.
func TestUsageErrorsGoToStderr(t *testing.T) {
	for _, args := range [][]string{
		{"bench", "--no-such-flag"},
		{"retour", "build", "--no-such-flag"},
		{"conformance", "run", "--no-such-flag"},
		{"conformance", "check", "--no-such-flag"},
		{"schemas", "export", "--no-such-flag", "dir"},
		{"schemas", "export"},
		{"retour"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			assert.Equal(t, 2, run(args, strings.NewReader(""), &out, &errOut))
			assert.Empty(t, out.String())
			assert.Contains(t, errOut.String(), "Usage")
		})
	}
}

func TestIsTerminal(t *testing.T) {
	var buf bytes.Buffer
	assert.False(t, isTerminal(&buf), "a buffer")
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	require.NoError(t, err)
	defer f.Close()
	assert.False(t, isTerminal(f), "a regular file")
	if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
		defer tty.Close()
		assert.True(t, isTerminal(tty), "the controlling terminal")
		t.Setenv("NO_COLOR", "1")
		assert.False(t, isTerminal(tty), "NO_COLOR")
	}
}
