package deploy

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	line int
	cmd  string // upper case: FROM, RUN, …
	args string
}

// stage is one FROM and the instructions under it.
type stage struct {
	image, name string
	ins         []instruction
}

var dockerInstructions = []string{"ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM",
	"HEALTHCHECK", "LABEL", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR"}

// parseDockerfile splits a Dockerfile into stages as the builder reads
// it: comments (also between continuation lines) dropped, lines ending in
// a backslash joined. Heredocs are not supported; the file uses none.
func parseDockerfile(t *testing.T, text string) []stage {
	t.Helper()
	var ins []instruction
	var cur *instruction
	for i, raw := range strings.Split(text, "\n") {
		line := strings.TrimSpace(raw)
		if strings.HasPrefix(line, "#") || (line == "" && cur == nil) {
			continue
		}
		if cur == nil {
			cmd, args, _ := strings.Cut(line, " ")
			cur = &instruction{line: i + 1, cmd: strings.ToUpper(cmd)}
			line = args
		}
		cont := strings.HasSuffix(line, "\\")
		cur.args += strings.TrimSpace(strings.TrimSuffix(line, "\\")) + " "
		if !cont {
			cur.args = strings.TrimSpace(cur.args)
			ins = append(ins, *cur)
			cur = nil
		}
	}
	require.Nil(t, cur, "the Dockerfile ends inside a continued instruction")
	var stages []stage
	for _, in := range ins {
		require.Contains(t, dockerInstructions, in.cmd, "line %d: unknown instruction", in.line)
		if in.cmd == "FROM" {
			f := strings.Fields(in.args)
			f = slices.DeleteFunc(f, func(s string) bool { return strings.HasPrefix(s, "--") })
			st := stage{image: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				st.name = f[2]
			} else {
				require.Len(t, f, 1, "line %d: FROM image [AS name]", in.line)
			}
			stages = append(stages, st)
			continue
		}
		require.NotEmpty(t, stages, "line %d: %s before the first FROM", in.line, in.cmd)
		stages[len(stages)-1].ins = append(stages[len(stages)-1].ins, in)
	}
	return stages
}

// all returns the arguments of every instruction cmd of the stage.
func (s stage) all(cmd string) []string {
	var out []string
	for _, in := range s.ins {
		if in.cmd == cmd {
			out = append(out, in.args)
		}
	}
	return out
}

// last returns the arguments of the stage's last instruction cmd.
func (s stage) last(cmd string) (string, bool) {
	all := s.all(cmd)
	if len(all) == 0 {
		return "", false
	}
	return all[len(all)-1], true
}

// execForm decodes the JSON array form of CMD, ENTRYPOINT or a
// HEALTHCHECK's CMD.
func execForm(t *testing.T, args string) []string {
	t.Helper()
	var out []string
	require.NoError(t, json.Unmarshal([]byte(args), &out), "want the exec (JSON) form: %s", args)
	require.NotEmpty(t, out)
	return out
}

// debianRelease is the Debian codename in an image reference such as
// golang:1.26-bookworm or debian:bookworm-slim.
var debianRelease = regexp.MustCompile(`\b(bullseye|bookworm|trixie|forky)\b`)

// healthcheck returns the command of the final stage's HEALTHCHECK.
func healthcheck(t *testing.T, s stage) []string {
	t.Helper()
	hc, ok := s.last("HEALTHCHECK")
	require.True(t, ok, "the runtime stage has a HEALTHCHECK")
	i := strings.Index(hc, "CMD ")
	require.GreaterOrEqual(t, i, 0, "HEALTHCHECK … CMD […]")
	return execForm(t, strings.TrimSpace(hc[i+len("CMD "):]))
}

// TestDockerfile checks the Dockerfile statically: no image is built. It
// checks that it parses, that the stages and their images fit the
// switch's needs (a cgo build with libxml2's headers, a slim runtime of
// the same Debian release with libxml2's runtime only), that the runtime
// runs as a user other than root, that its health probe asks the admin
// port the command serves, and that the build context keeps what the
// build needs.
func TestDockerfile(t *testing.T) {
	stages := parseDockerfile(t, readFile(t, filepath.Join(repoRoot, "Dockerfile")))
	require.GreaterOrEqual(t, len(stages), 2, "a build stage and a runtime stage")
	build, runtime := stages[0], stages[len(stages)-1]

	names := map[string]bool{}
	for _, s := range stages {
		if s.name != "" {
			assert.False(t, names[s.name], "stage name %s twice", s.name)
		}
		for _, c := range s.all("COPY") {
			if from := flagValue(strings.Fields(c), "from"); from != "" {
				assert.True(t, names[from], "COPY --from=%s names no earlier stage", from)
			} else {
				f := strings.Fields(c)
				for _, src := range f[:len(f)-1] {
					if !strings.HasPrefix(src, "--") {
						assert.True(t, exists(filepath.Join(repoRoot, src)), "COPY %s: not in the build context", src)
					}
				}
			}
		}
		names[s.name] = true
	}

	t.Run("build stage", func(t *testing.T) {
		assert.True(t, strings.HasPrefix(build.image, "golang:"), build.image)
		run := strings.Join(build.all("RUN"), "\n")
		for _, want := range []string{"libxml2-dev", "pkg-config", "CGO_ENABLED=1", "./cmd/knooppunt"} {
			assert.Contains(t, run, want)
		}
	})

	t.Run("runtime stage", func(t *testing.T) {
		assert.Regexp(t, `^debian:[a-z]+-slim$`, runtime.image)
		assert.Equal(t, debianRelease.FindString(build.image), debianRelease.FindString(runtime.image),
			"the binary needs the libxml2 release it was built against")
		assert.NotEmpty(t, debianRelease.FindString(build.image), "the build image names its Debian release")
		run := strings.Join(runtime.all("RUN"), "\n")
		assert.Regexp(t, `\blibxml2\b[^-]`, run, "libxml2's runtime is installed")
		for _, unwanted := range []string{"libxml2-dev", "pkg-config", "gcc", "golang"} {
			assert.NotContains(t, run, unwanted, "build tools stay in the build stage")
		}
	})

	t.Run("user", func(t *testing.T) {
		user, ok := runtime.last("USER")
		require.True(t, ok, "the runtime stage sets USER")
		name, _, _ := strings.Cut(user, ":")
		assert.NotContains(t, []string{"", "root", "0"}, name)
		if strings.Trim(name, "0123456789") == "" {
			assert.Contains(t, strings.Join(runtime.all("RUN"), "\n"), "--uid "+name, "the numeric user is created")
		}
	})

	entry, ok := runtime.last("ENTRYPOINT")
	require.True(t, ok)
	cmdArgs, ok := runtime.last("CMD")
	require.True(t, ok)
	args := append(execForm(t, entry), execForm(t, cmdArgs)...)

	t.Run("entrypoint", func(t *testing.T) {
		var copied []string
		for _, c := range runtime.all("COPY") {
			f := strings.Fields(c)
			copied = append(copied, f[len(f)-1])
		}
		assert.Contains(t, copied, args[0], "ENTRYPOINT runs the binary copied from the build stage")
		assert.Equal(t, "serve", args[1])
	})

	t.Run("healthcheck", func(t *testing.T) {
		probe := healthcheck(t, runtime)
		assert.Contains(t, []string{"bash", "/bin/bash"}, probe[0], "the slim image has bash, no curl or wget")
		script := strings.Join(probe, " ")
		assert.Contains(t, script, "/healthz")
		env := map[string]string{}
		for _, e := range runtime.all("ENV") {
			k, v, _ := strings.Cut(e, "=")
			env[k] = v
		}
		port := env["KNOOPPUNT_ADMIN_PORT"]
		assert.Contains(t, script, "${KNOOPPUNT_ADMIN_PORT}")
		assert.Equal(t, port, portOf(flagValue(args, "admin-addr")), "the probe asks the port --admin-addr serves")
		assert.Contains(t, strings.Fields(strings.Join(runtime.all("EXPOSE"), " ")), port)
	})

	t.Run("volume", func(t *testing.T) {
		data := flagValue(args, "data")
		require.NotEmpty(t, data, "CMD names --data")
		var vols []string
		for _, v := range runtime.all("VOLUME") {
			if strings.HasPrefix(v, "[") {
				vols = append(vols, execForm(t, v)...)
			} else {
				vols = append(vols, strings.Fields(v)...)
			}
		}
		found := slices.ContainsFunc(vols, func(v string) bool { return strings.HasPrefix(data, strings.TrimSuffix(v, "/")+"/") })
		assert.True(t, found, "--data %s lies on a VOLUME (%v): the store, audit trail and key file sit beside it", data, vols)
	})

	t.Run("build context", func(t *testing.T) {
		var patterns []string
		for _, l := range strings.Split(readFile(t, filepath.Join(repoRoot, ".dockerignore")), "\n") {
			if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
				patterns = append(patterns, l)
			}
		}
		for _, needed := range []string{"go.mod", "go.sum", "cmd/knooppunt/main.go", "conformance/testdata/happy-wmo301.case",
			"bericht/structure.go", "stuf/schema.go", "rules/standard.csv"} {
			require.True(t, exists(filepath.Join(repoRoot, needed)), "%s exists", needed)
			for _, p := range patterns {
				assert.False(t, ignored(p, needed), ".dockerignore %q leaves %s out of the build", p, needed)
			}
		}
	})
}

// ignored reports whether a .dockerignore pattern matches name or one of
// its parent directories ("**/" matches any number of directories).
func ignored(pattern, name string) bool {
	parts := strings.Split(name, "/")
	for i := 1; i <= len(parts); i++ {
		p := strings.Join(parts[:i], "/")
		if ok, _ := path.Match(pattern, p); ok {
			return true
		}
		if rest, ok := strings.CutPrefix(pattern, "**/"); ok {
			for j := range i {
				if ok, _ := path.Match(rest, strings.Join(parts[j:i], "/")); ok {
					return true
				}
			}
		}
	}
	return false
}

// TestDockerHealthcheckProbe runs the image's HEALTHCHECK command, as the
// Docker engine would inside the container, against a live node's admin
// listener: it succeeds there, and fails on a 503 and on a closed port.
func TestDockerHealthcheckProbe(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash is not installed here; the image has it")
	}
	stages := parseDockerfile(t, readFile(t, filepath.Join(repoRoot, "Dockerfile")))
	probe := healthcheck(t, stages[len(stages)-1])
	runProbe := func(port string) error {
		cmd := exec.Command(probe[0], probe[1:]...)
		cmd.Env = append(os.Environ(), "KNOOPPUNT_ADMIN_PORT="+port)
		return cmd.Run()
	}

	n := startNode(t, "")
	assert.NoError(t, runProbe(portOf(n.adminAddr)), "healthy node")

	sick := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"code":"not-ready"}`, http.StatusServiceUnavailable)
	}))
	defer sick.Close()
	assert.Error(t, runProbe(portOf(sick.Listener.Addr().String())), "a 503 is unhealthy")

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := portOf(ln.Addr().String())
	ln.Close()
	assert.Error(t, runProbe(closed), "nothing listening is unhealthy")
}
