package deploy

import (
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"text/template"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// ruleFile is a Prometheus rule file; unknown keys are refused when it is
// read, as Prometheus refuses them.
type ruleFile struct {
	Groups []struct {
		Name     string `yaml:"name"`
		Interval string `yaml:"interval"`
		Rules    []rule `yaml:"rules"`
	} `yaml:"groups"`
}

type rule struct {
	Alert       string            `yaml:"alert"`
	Record      string            `yaml:"record"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

func (f ruleFile) allRules() []rule {
	var out []rule
	for _, g := range f.Groups {
		out = append(out, g.Rules...)
	}
	return out
}

const rulesPath = "prometheus/alerts.yaml"

func loadRules(t *testing.T) ruleFile {
	t.Helper()
	dec := yaml.NewDecoder(strings.NewReader(readFile(t, rulesPath)))
	dec.KnownFields(true)
	var f ruleFile
	require.NoError(t, dec.Decode(&f))
	return f
}

// promDuration is Prometheus's duration syntax: 90s, 1h30m, 7d.
var promDuration = regexp.MustCompile(`^([0-9]+(ms|s|m|h|d|w|y))+$`)

// TestAlertRules checks the rule file's structure the way Prometheus's
// rule loader does, without Prometheus: every rule is an alert with a
// unique name, an expression whose brackets, strings and label matchers
// are well formed, a valid "for", a severity and annotation templates
// that parse. The expressions' PromQL semantics are not checked here
// (promtool does that where it is installed, below).
func TestAlertRules(t *testing.T) {
	f := loadRules(t)
	require.NotEmpty(t, f.Groups)
	groups := map[string]bool{}
	alerts := map[string]bool{}
	for _, g := range f.Groups {
		assert.NotEmpty(t, g.Name)
		assert.False(t, groups[g.Name], "group %s twice", g.Name)
		groups[g.Name] = true
		require.NotEmpty(t, g.Rules, "group %s", g.Name)
		for _, r := range g.Rules {
			t.Run(r.Alert, func(t *testing.T) {
				assert.Regexp(t, `^[A-Z][A-Za-z0-9]+$`, r.Alert, "alert name")
				assert.Empty(t, r.Record, "this file holds alerts only")
				assert.False(t, alerts[r.Alert], "alert %s twice", r.Alert)
				alerts[r.Alert] = true
				assert.NoError(t, checkExpr(r.Expr))
				if r.For != "" {
					assert.Regexp(t, promDuration, r.For)
				}
				assert.Contains(t, []string{"warning", "critical"}, r.Labels["severity"])
				assert.NotEmpty(t, r.Annotations["summary"])
				assert.NotEmpty(t, r.Annotations["description"])
				for k, v := range r.Annotations {
					_, err := template.New(k).Funcs(alertTemplateFuncs).Parse(alertTemplateVars + v)
					assert.NoError(t, err, "annotation %s", k)
				}
			})
		}
	}
	for _, want := range []string{"knooppunt_audit_reception_errors_total", "knooppunt_store_feed_changes",
		"knooppunt_store_pending_messages", "knooppunt_store_quarantined_messages", "knooppunt_store_commit_duration_seconds_bucket",
		"knooppunt_validation_abandoned_total", "knooppunt_validation_slots_waiting", "knooppunt_tls_handshake_failures_total",
		"knooppunt_tls_certificate_expiry_seconds", `route="/readyz"`,
		"knooppunt_store_stream_leader", "knooppunt_store_stream_replicas_current"} {
		found := false
		for _, r := range f.allRules() {
			found = found || strings.Contains(r.Expr, want)
		}
		assert.True(t, found, "some alert watches %s", want)
	}

	t.Run("promtool", func(t *testing.T) {
		promtool, err := exec.LookPath("promtool")
		if err != nil {
			t.Skip("promtool is not installed; the structural checks above stand in for it")
		}
		out, err := exec.Command(promtool, "check", "rules", rulesPath).CombinedOutput()
		assert.NoError(t, err, "%s", out)
	})
}

// alertTemplateVars are the variables Prometheus defines in front of
// every alert template.
const alertTemplateVars = "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}"

// alertTemplateFuncs stand in for the functions Prometheus offers alert
// templates, so that a template using them parses.
var alertTemplateFuncs = template.FuncMap{}

func init() {
	for _, name := range []string{"humanize", "humanize1024", "humanizeDuration", "humanizePercentage",
		"humanizeTimestamp", "query", "first", "label", "value", "title", "toUpper", "toLower", "reReplaceAll",
		"safeHtml", "match", "args", "tableLink", "graphLink", "strvalue", "sortByLabel", "pathPrefix", "externalURL"} {
		alertTemplateFuncs[name] = func(...any) any { return nil }
	}
}

// matcher is one label matcher inside braces.
var matcher = regexp.MustCompile(`^\s*[a-zA-Z_][a-zA-Z0-9_]*\s*(=~|!~|!=|=)\s*"(?:[^"\\]|\\.)*"\s*$`)

// checkExpr checks what can be checked of a PromQL expression without a
// PromQL parser: strings closed, brackets balanced and nested properly,
// every brace a list of label matchers (or a grouping list for by and
// without), and at least one metric name of the switch or up.
func checkExpr(expr string) error {
	if strings.TrimSpace(expr) == "" {
		return fmt.Errorf("empty expression")
	}
	var stack []byte
	var braceStart int
	pairs := map[byte]byte{')': '(', ']': '[', '}': '{'}
	for i := 0; i < len(expr); i++ {
		c := expr[i]
		switch c {
		case '"':
			j := i + 1
			for ; j < len(expr) && expr[j] != '"'; j++ {
				if expr[j] == '\\' {
					j++
				}
			}
			if j >= len(expr) {
				return fmt.Errorf("unclosed string at %d", i)
			}
			i = j
		case '(', '[', '{':
			stack = append(stack, c)
			if c == '{' {
				braceStart = i
			}
		case ')', ']', '}':
			if len(stack) == 0 || stack[len(stack)-1] != pairs[c] {
				return fmt.Errorf("unbalanced %q at %d", c, i)
			}
			stack = stack[:len(stack)-1]
			if c == '}' {
				for _, m := range splitMatchers(expr[braceStart+1 : i]) {
					if !matcher.MatchString(m) {
						return fmt.Errorf("bad label matcher %q", m)
					}
				}
			}
		}
	}
	if len(stack) > 0 {
		return fmt.Errorf("unclosed %q", stack[len(stack)-1])
	}
	if !metricName.MatchString(expr) {
		return fmt.Errorf("names no metric of the switch")
	}
	return nil
}

// splitMatchers splits a matcher list on the commas outside strings.
func splitMatchers(s string) []string {
	var out []string
	start, inString := 0, false
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && inString:
			i++
		case s[i] == '"':
			inString = !inString
		case s[i] == ',' && !inString:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	if strings.TrimSpace(s[start:]) != "" {
		out = append(out, s[start:])
	}
	return out
}

func TestCheckExprRefuses(t *testing.T) {
	for _, bad := range []string{
		``,
		`knooppunt_store_pending_messages{instance="a"`,
		`rate(knooppunt_http_requests_total[5m]`,
		`knooppunt_http_requests_total{code="ok}`,
		`knooppunt_http_requests_total{code=ok}`,
		`sum(rate(knooppunt_http_requests_total[5m)))`,
		`sum(rate(go_goroutines[5m]))`,
	} {
		assert.Error(t, checkExpr(bad), bad)
	}
	assert.NoError(t, checkExpr(`sum by (code) (rate(knooppunt_http_requests_total{code!~"ok|stored",instance=~"$instance"}[$__rate_interval]))`))
}

// TestDashboard checks the Grafana dashboard: it is JSON Grafana can
// provision (a uid, panels with unique ids inside the 24-column grid),
// every query well formed and bound to the dashboard's data source, and
// the panels the operations guide promises are there.
func TestDashboard(t *testing.T) {
	d := loadDashboard(t)
	assert.NotEmpty(t, d.UID)
	assert.NotEmpty(t, d.Title)
	vars := map[string]bool{}
	for _, v := range d.Templating.List {
		vars[v.Name] = true
	}
	require.True(t, vars["datasource"], "a datasource variable, so the dashboard imports anywhere")
	ids := map[int]bool{}
	var exprs []string
	for _, p := range d.Panels {
		assert.False(t, ids[p.ID], "panel id %d twice", p.ID)
		ids[p.ID] = true
		assert.NotEmpty(t, p.Title)
		assert.Equal(t, "${datasource}", p.Datasource.UID, "panel %s", p.Title)
		assert.True(t, p.GridPos.W > 0 && p.GridPos.X+p.GridPos.W <= 24 && p.GridPos.H > 0, "panel %s lies in the grid", p.Title)
		require.NotEmpty(t, p.Targets, "panel %s has a query", p.Title)
		refs := map[string]bool{}
		for _, tg := range p.Targets {
			assert.False(t, refs[tg.RefID], "panel %s: refId %s twice", p.Title, tg.RefID)
			refs[tg.RefID] = true
			assert.Equal(t, "${datasource}", tg.Datasource.UID, "panel %s", p.Title)
			assert.NoError(t, checkExpr(tg.Expr), "panel %s: %s", p.Title, tg.Expr)
			for _, v := range regexp.MustCompile(`\$([a-z_]+)`).FindAllStringSubmatch(tg.Expr, -1) {
				assert.True(t, vars[v[1]] || strings.HasPrefix(v[1], "__"), "panel %s uses $%s, which no variable defines", p.Title, v[1])
			}
			exprs = append(exprs, tg.Expr)
		}
	}
	all := strings.Join(exprs, "\n")
	for _, want := range []string{`outcome="stored"`, "outcome!~", "knooppunt_gateway_ingest_duration_seconds_bucket", "histogram_quantile(0.5",
		"histogram_quantile(0.99", "knooppunt_store_pending_messages", "knooppunt_store_quarantined_messages", "knooppunt_store_feed_changes",
		"knooppunt_validation_slots_busy", "knooppunt_validation_slots_waiting", "knooppunt_tls_handshake_failures_total"} {
		assert.Contains(t, all, want)
	}
}
