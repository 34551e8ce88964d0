package deploy

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// unitFile maps "Section.Key" to its values in order (a key may repeat).
type unitFile map[string][]string

// parseUnit reads a systemd unit: sections, keys, continuation lines.
func parseUnit(t *testing.T, text string) unitFile {
	t.Helper()
	u := unitFile{}
	section, pending := "", ""
	for i, raw := range strings.Split(text, "\n") {
		line := strings.TrimSpace(raw)
		if pending == "" && (line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";")) {
			continue
		}
		if strings.HasSuffix(line, "\\") {
			pending += strings.TrimSuffix(line, "\\") + " "
			continue
		}
		line, pending = pending+line, ""
		if strings.HasPrefix(line, "[") {
			require.True(t, strings.HasSuffix(line, "]"), "line %d", i+1)
			section = strings.Trim(line, "[]")
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		require.True(t, ok, "line %d: key=value", i+1)
		require.NotEmpty(t, section, "line %d: before the first section", i+1)
		u[section+"."+strings.TrimSpace(k)] = append(u[section+"."+strings.TrimSpace(k)], strings.TrimSpace(v))
	}
	require.Empty(t, pending, "the unit ends inside a continued line")
	return u
}

func (u unitFile) last(key string) string {
	v := u[key]
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

// TestSystemdUnit checks the hardening of deploy/knooppunt.service and
// that the directory the switch writes is the one the sandbox leaves
// writable. systemd-analyze verify runs too where it is installed.
func TestSystemdUnit(t *testing.T) {
	u := parseUnit(t, readFile(t, "knooppunt.service"))
	for key, want := range map[string]string{
		"Service.NoNewPrivileges":         "yes",
		"Service.ProtectSystem":           "strict",
		"Service.ProtectHome":             "yes",
		"Service.PrivateTmp":              "yes",
		"Service.PrivateDevices":          "yes",
		"Service.CapabilityBoundingSet":   "",
		"Service.AmbientCapabilities":     "",
		"Service.RestrictSUIDSGID":        "yes",
		"Service.ProtectKernelTunables":   "yes",
		"Service.ProtectControlGroups":    "yes",
		"Service.MemoryDenyWriteExecute":  "yes",
		"Service.LockPersonality":         "yes",
		"Service.SystemCallArchitectures": "native",
		"Service.UMask":                   "0077",
		"Install.WantedBy":                "multi-user.target",
	} {
		require.Contains(t, u, key)
		assert.Equal(t, want, u.last(key), key)
	}
	user := u.last("Service.User")
	assert.True(t, u.last("Service.DynamicUser") == "yes" || (user != "" && user != "root" && user != "0"),
		"the service runs as a user of its own")
	assert.NotContains(t, []string{"root", "0"}, user)

	exec := strings.Fields(u.last("Service.ExecStart"))
	require.GreaterOrEqual(t, len(exec), 2)
	assert.Equal(t, "serve", exec[1])
	data := flagValue(exec, "data")
	require.NotEmpty(t, data)
	writable := strings.Fields(strings.Join(u["Service.ReadWritePaths"], " "))
	for _, s := range u["Service.StateDirectory"] {
		writable = append(writable, "/var/lib/"+s)
	}
	ok := false
	for _, w := range writable {
		ok = ok || strings.HasPrefix(data, strings.TrimPrefix(w, "-")+"/")
	}
	assert.True(t, ok, "--data %s (and DATA.audit, DATA.keys beside it) lies in a writable path: %v", data, writable)
	assert.Equal(t, "0700", u.last("Service.StateDirectoryMode"))

	pre := strings.Fields(u.last("Service.ExecStartPre"))
	assert.Contains(t, pre, "--check-config", "a broken registry stops the start before the old process is gone")
	for _, f := range []string{"config", "tls-cert", "tls-key", "client-ca"} {
		assert.Equal(t, flagValue(exec, f), flagValue(pre, f), "ExecStartPre checks the files ExecStart uses: --%s", f)
	}
}

// TestSystemdUnitVerifies runs systemd-analyze verify on the unit, with
// the binary's path pointed at the tests' own executable (verify checks
// that it exists).
func TestSystemdUnitVerifies(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed")
	}
	standIn, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no executable to stand in for the binary")
	}
	unit := strings.ReplaceAll(readFile(t, "knooppunt.service"), "/usr/local/bin/knooppunt", standIn)
	p := t.TempDir() + "/knooppunt.service"
	require.NoError(t, writeFile(p, unit))
	out, err := exec.Command(analyze, "verify", p).CombinedOutput()
	assert.NoError(t, err, "%s", out)
	assert.Empty(t, strings.TrimSpace(string(out)), "systemd-analyze has remarks")
}
