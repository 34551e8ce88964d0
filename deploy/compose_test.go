package deploy

import (
	"net/url"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

type composeFile struct {
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

type composeService struct {
	Image      string            `yaml:"image"`
	Build      *composeBuild     `yaml:"build"`
	Command    []string          `yaml:"command"`
	Entrypoint []string          `yaml:"entrypoint"`
	Volumes    []string          `yaml:"volumes"`
	Ports      []string          `yaml:"ports"`
	DependsOn  yaml.Node         `yaml:"depends_on"`
	Restart    string            `yaml:"restart"`
	Env        map[string]string `yaml:"environment"`
	Hostname   string            `yaml:"hostname"`
}

type composeBuild struct {
	Context    string `yaml:"context"`
	Dockerfile string `yaml:"dockerfile"`
}

// mount is one entry of a service's volumes: a bind mount of a file or
// directory of the repository, or a named volume.
type mount struct{ source, target string }

func (s composeService) mounts() []mount {
	var out []mount
	for _, v := range s.Volumes {
		f := strings.Split(v, ":")
		out = append(out, mount{source: f[0], target: f[1]})
	}
	return out
}

func (m mount) bind() bool {
	return strings.HasPrefix(m.source, ".") || strings.HasPrefix(m.source, "/")
}

// dependsOn maps each service a service waits for to the condition
// ("service_started" for the list form).
func (s composeService) dependsOn(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	switch s.DependsOn.Kind {
	case 0:
	case yaml.SequenceNode:
		var names []string
		require.NoError(t, s.DependsOn.Decode(&names))
		for _, n := range names {
			out[n] = "service_started"
		}
	default:
		var m map[string]struct {
			Condition string `yaml:"condition"`
		}
		require.NoError(t, s.DependsOn.Decode(&m))
		for n, c := range m {
			out[n] = c.Condition
		}
	}
	return out
}

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	var c composeFile
	require.NoError(t, yaml.Unmarshal([]byte(readFile(t, "compose.yaml")), &c))
	return c
}

var (
	natsServices = []string{"nats-1", "nats-2", "nats-3"}
	nodeServices = []string{"knooppunt-1", "knooppunt-2"}
)

// TestCompose checks deploy/compose.yaml without Docker: the services of
// the documented cluster are there, every file it mounts exists, every
// named volume and dependency is declared, the NATS servers' own
// configuration (read by nats-server's parser) has JetStream with
// sync_interval always in one three-server cluster, both nodes use all
// three servers and one key file, and Prometheus and Grafana are wired to
// the rules, the nodes and the dashboard.
func TestCompose(t *testing.T) {
	c := loadCompose(t)
	for _, name := range append(append([]string{"keys", "prometheus", "grafana"}, natsServices...), nodeServices...) {
		require.Contains(t, c.Services, name)
	}

	for name, s := range c.Services {
		for _, m := range s.mounts() {
			if m.bind() {
				assert.True(t, exists(m.source), "service %s mounts %s, which does not exist", name, m.source)
			} else {
				assert.Contains(t, c.Volumes, m.source, "service %s: volume %s is not declared", name, m.source)
			}
		}
		for dep := range s.dependsOn(t) {
			assert.Contains(t, c.Services, dep, "service %s depends on an unknown service", name)
		}
		if s.Build != nil {
			assert.True(t, exists(filepath.Join(s.Build.Context, s.Build.Dockerfile)), "service %s builds from %s", name, s.Build.Context)
		}
	}

	// The NATS servers, read from the files they mount.
	clientPort := map[string]string{}
	clusterRoutes := map[string][]string{}
	names := map[string]bool{}
	for _, svc := range natsServices {
		s := c.Services[svc]
		conf := flagValue(s.Command, "config")
		require.NotEmpty(t, conf, "%s: --config", svc)
		var src string
		for _, m := range s.mounts() {
			if m.target == conf {
				src = m.source
			}
		}
		require.NotEmpty(t, src, "%s mounts its --config %s", svc, conf)
		opts, err := server.ProcessConfigFile(src)
		require.NoError(t, err, src)
		assert.True(t, opts.JetStream, "%s: jetstream", src)
		assert.True(t, opts.SyncAlways, "%s: sync_interval: always", src)
		assert.False(t, names[opts.ServerName], "%s: server_name %q twice", src, opts.ServerName)
		names[opts.ServerName] = true
		assert.Equal(t, "knooppunt", opts.Cluster.Name, src)
		assert.NotEmpty(t, opts.StoreDir, "%s: store_dir", src)
		onVolume := slices.ContainsFunc(s.mounts(), func(m mount) bool { return !m.bind() && strings.HasPrefix(opts.StoreDir, m.target) })
		assert.True(t, onVolume, "%s: store_dir %s is on a volume", svc, opts.StoreDir)
		clientPort[svc] = strconv.Itoa(opts.Port)
		for _, r := range opts.Routes {
			clusterRoutes[svc] = append(clusterRoutes[svc], r.Host)
		}
		for _, other := range natsServices {
			assert.Contains(t, clusterRoutes[svc], other+":"+strconv.Itoa(opts.Cluster.Port), "%s routes to %s", svc, other)
		}
	}

	// The Knooppunt nodes.
	var keyFiles []string
	adminPorts := map[string]string{}
	hostnames := map[string]string{}
	for _, svc := range nodeServices {
		s := c.Services[svc]
		require.NotEmpty(t, s.Command)
		assert.Equal(t, "serve", s.Command[0])
		// A node's default name on the shared store starts with its host
		// name, which must outlive the container.
		require.NotEmpty(t, s.Hostname, "%s: a host name that stays when the container is made anew", svc)
		assert.Empty(t, hostnames[s.Hostname], "%s: a host name of its own", svc)
		hostnames[s.Hostname] = svc
		var servers []string
		for _, u := range strings.Split(flagValue(s.Command, "store"), ",") {
			p, err := url.Parse(u)
			require.NoError(t, err)
			assert.Equal(t, "nats", p.Scheme)
			assert.Empty(t, p.Query().Get("replicas"), "%s: the default, three replicas", svc)
			servers = append(servers, p.Host)
		}
		var want []string
		for _, n := range natsServices {
			want = append(want, n+":"+clientPort[n])
		}
		assert.ElementsMatch(t, want, servers, "%s: --store names every NATS server", svc)
		keyFile := flagValue(s.Command, "key-file")
		require.NotEmpty(t, keyFile, "%s: every node seals under the same key file", svc)
		keyFiles = append(keyFiles, keyFile)
		keyMounted := false
		for _, m := range s.mounts() {
			if strings.HasPrefix(keyFile, m.target+"/") {
				keyMounted = m.source == "keys"
			}
		}
		assert.True(t, keyMounted, "%s: the key file lies on the keys volume", svc)
		assert.Equal(t, "service_completed_successfully", s.dependsOn(t)["keys"], "%s starts after the key file exists", svc)
		adminPorts[svc] = portOf(flagValue(s.Command, "admin-addr"))
		require.NotEmpty(t, adminPorts[svc], "%s: --admin-addr for probes and Prometheus", svc)
		data := flagValue(s.Command, "data")
		onVolume := slices.ContainsFunc(s.mounts(), func(m mount) bool { return !m.bind() && strings.HasPrefix(data, m.target+"/") })
		assert.True(t, onVolume, "%s: --data %s is on a volume", svc, data)
	}
	require.Len(t, keyFiles, 2)
	assert.Equal(t, keyFiles[0], keyFiles[1])
	keys := c.Services["keys"]
	assert.Contains(t, strings.Join(keys.Command, " "), "keys rotate --keys /var/lib/knooppunt/"+path.Base(keyFiles[0]))
	assert.Contains(t, keys.Volumes, "keys:/var/lib/knooppunt")

	t.Run("prometheus", func(t *testing.T) {
		s := c.Services["prometheus"]
		targets := map[string]string{}
		for _, m := range s.mounts() {
			targets[m.target] = m.source
		}
		cfgFile := flagValue(s.Command, "config.file")
		require.Contains(t, targets, cfgFile)
		var cfg struct {
			RuleFiles     []string `yaml:"rule_files"`
			ScrapeConfigs []struct {
				JobName       string `yaml:"job_name"`
				StaticConfigs []struct {
					Targets []string `yaml:"targets"`
				} `yaml:"static_configs"`
			} `yaml:"scrape_configs"`
		}
		require.NoError(t, yaml.Unmarshal([]byte(readFile(t, targets[cfgFile])), &cfg))
		require.Len(t, cfg.RuleFiles, 1)
		assert.Equal(t, "./"+rulesPath, targets[cfg.RuleFiles[0]], "the rules Prometheus loads are alerts.yaml")
		var scraped []string
		for _, sc := range cfg.ScrapeConfigs {
			if sc.JobName == "knooppunt" {
				for _, st := range sc.StaticConfigs {
					scraped = append(scraped, st.Targets...)
				}
			}
		}
		var want []string
		for _, n := range nodeServices {
			want = append(want, n+":"+adminPorts[n])
		}
		assert.ElementsMatch(t, want, scraped, "job knooppunt (the job the rules select) scrapes every node's admin port")
	})

	t.Run("grafana", func(t *testing.T) {
		s := c.Services["grafana"]
		var dashDir, dsFile, providerFile string
		for _, m := range s.mounts() {
			switch {
			case m.source == "./grafana/knooppunt.json":
				dashDir = path.Dir(m.target)
			case strings.HasPrefix(m.target, "/etc/grafana/provisioning/datasources/"):
				dsFile = m.source
			case strings.HasPrefix(m.target, "/etc/grafana/provisioning/dashboards/"):
				providerFile = m.source
			}
		}
		require.NotEmpty(t, dashDir, "the dashboard is mounted")
		var ds struct {
			Datasources []struct{ UID, Type, URL string } `yaml:"datasources"`
		}
		require.NoError(t, yaml.Unmarshal([]byte(readFile(t, dsFile)), &ds))
		require.Len(t, ds.Datasources, 1)
		assert.Equal(t, "prometheus", ds.Datasources[0].Type)
		assert.Equal(t, "http://prometheus:9090", ds.Datasources[0].URL)
		d := loadDashboard(t)
		for _, v := range d.Templating.List {
			if v.Name == "datasource" {
				assert.Equal(t, ds.Datasources[0].UID, v.Current.Value, "the dashboard's default data source is the provisioned one")
			}
		}
		var prov struct {
			Providers []struct {
				Options struct {
					Path string `yaml:"path"`
				} `yaml:"options"`
			} `yaml:"providers"`
		}
		require.NoError(t, yaml.Unmarshal([]byte(readFile(t, providerFile)), &prov))
		require.Len(t, prov.Providers, 1)
		assert.Equal(t, dashDir, prov.Providers[0].Options.Path, "the provider loads the directory the dashboard is mounted in")
	})
}
