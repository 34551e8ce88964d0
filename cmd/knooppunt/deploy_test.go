package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

const deployDir = "../../deploy"

// deployFiles are throwaway stand-ins for the files the deployment kit
// names under /etc/knooppunt and the data directories, in a temporary
// directory.
type deployFiles struct {
	dir                     string
	cert, key, ca, registry string
}

func newDeployFiles(t *testing.T) deployFiles {
	t.Helper()
	dir := t.TempDir()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "knooppunt.example"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, DNSNames: []string{"knooppunt.example"},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	f := deployFiles{dir: dir, cert: filepath.Join(dir, "server.crt"), key: filepath.Join(dir, "server.key"),
		ca: filepath.Join(dir, "client-ca.crt"), registry: filepath.Join(deployDir, "registry.example.yaml")}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	require.NoError(t, os.WriteFile(f.cert, certPEM, 0o600))
	require.NoError(t, os.WriteFile(f.ca, certPEM, 0o600))
	require.NoError(t, os.WriteFile(f.key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600))
	return f
}

// localize points the paths of a deployment's command line at the
// stand-ins.
func (f deployFiles) localize(args []string) []string {
	r := strings.NewReplacer(
		"/etc/knooppunt/registry.yaml", f.registry,
		"/etc/knooppunt/tls/server.crt", f.cert,
		"/etc/knooppunt/tls/server.key", f.key,
		"${CREDENTIALS_DIRECTORY}/server.key", f.key,
		"/etc/knooppunt/tls/client-ca.crt", f.ca,
		"/var/lib/knooppunt", filepath.Join(f.dir, "state"),
		"/run/knooppunt-keys", filepath.Join(f.dir, "keys"),
	)
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = r.Replace(a)
	}
	return out
}

// checkServe runs `knooppunt ARGS --check-config` through the CLI's entry
// point and requires it to accept the configuration.
func checkServe(t *testing.T, args []string) string {
	t.Helper()
	require.Equal(t, "serve", args[0])
	var out, errOut bytes.Buffer
	code := run(append(args, "--check-config"), strings.NewReader(""), &out, &errOut)
	require.Equal(t, 0, code, "knooppunt %s --check-config\nstdout: %s\nstderr: %s", strings.Join(args, " "), out.String(), errOut.String())
	assert.Contains(t, out.String(), "configuration OK")
	return out.String()
}

// TestRegistryExampleChecks: the production registry example, with a
// server certificate and client CA, passes serve --check-config, on
// client certificates alone.
func TestRegistryExampleChecks(t *testing.T) {
	f := newDeployFiles(t)
	out := checkServe(t, []string{"serve", "--config", f.registry, "--tls-cert", f.cert, "--tls-key", f.key, "--client-ca", f.ca})
	assert.Contains(t, out, "(tokens off)")
	assert.Regexp(t, `configuration OK: 7 principals`, out)
}

// TestDeployCommandsCheck runs the command lines of the systemd unit, the
// image's default command and the compose cluster's nodes through serve
// --check-config: every flag they pass exists and their files work
// together.
func TestDeployCommandsCheck(t *testing.T) {
	f := newDeployFiles(t)

	t.Run("systemd", func(t *testing.T) {
		unit, err := os.ReadFile(filepath.Join(deployDir, "knooppunt.service"))
		require.NoError(t, err)
		text := strings.ReplaceAll(string(unit), "\\\n", " ")
		for _, key := range []string{"ExecStartPre", "ExecStart"} {
			m := regexp.MustCompile(`(?m)^` + key + `=(.*)$`).FindStringSubmatch(text)
			require.NotNil(t, m, key)
			args := strings.Fields(m[1])[1:]
			args = slicesDelete(args, "--check-config")
			checkServe(t, f.localize(args))
		}
	})

	t.Run("image", func(t *testing.T) {
		data, err := os.ReadFile("../../Dockerfile")
		require.NoError(t, err)
		text := strings.ReplaceAll(string(data), "\\\n", " ")
		m := regexp.MustCompile(`(?m)^CMD (\[.*\])\s*$`).FindStringSubmatch(text)
		require.NotNil(t, m, "the Dockerfile's CMD")
		var args []string
		require.NoError(t, json.Unmarshal([]byte(m[1]), &args))
		checkServe(t, f.localize(args))
	})

	t.Run("compose", func(t *testing.T) {
		data, err := os.ReadFile(filepath.Join(deployDir, "compose.yaml"))
		require.NoError(t, err)
		var c struct {
			Services map[string]struct {
				Command []string `yaml:"command"`
			} `yaml:"services"`
		}
		require.NoError(t, yaml.Unmarshal(data, &c))
		for _, name := range []string{"knooppunt-1", "knooppunt-2"} {
			require.NotEmpty(t, c.Services[name].Command, name)
			checkServe(t, f.localize(c.Services[name].Command))
		}
	})
}

func slicesDelete(args []string, drop string) []string {
	var out []string
	for _, a := range args {
		if a != drop {
			out = append(out, a)
		}
	}
	return out
}
