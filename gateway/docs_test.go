package gateway

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// TestOpenAPIDescribesEveryRoute holds docs/openapi.yaml and the routing
// table together: every route is documented and every documented operation
// exists.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	b, err := os.ReadFile("../docs/openapi.yaml")
	require.NoError(t, err)
	var doc struct {
		OpenAPI string                               `yaml:"openapi"`
		Paths   map[string]map[string]map[string]any `yaml:"paths"`
	}
	require.NoError(t, yaml.Unmarshal(b, &doc))
	assert.Equal(t, "3.1.0", doc.OpenAPI)
	routes := map[string]bool{}
	for _, rt := range slices.Concat(apiRoutes, securityRoutes, operationalRoutes) {
		key := strings.ToLower(rt.method) + " " + rt.pattern
		routes[key] = true
		op, ok := doc.Paths[rt.pattern][strings.ToLower(rt.method)]
		if assert.True(t, ok, "%s is not in openapi.yaml", key) {
			assert.NotEmpty(t, op["operationId"], key)
		}
	}
	for path, ops := range doc.Paths {
		for method := range ops {
			assert.True(t, routes[method+" "+path], "openapi.yaml documents %s %s, which the gateway does not serve", method, path)
		}
	}
}

// TestAPIDocListsEveryCode checks docs/api.md names every code the gateway
// itself answers with, the security layer's (roles, limits, audit) too.
func TestAPIDocListsEveryCode(t *testing.T) {
	doc, err := os.ReadFile("../docs/api.md")
	require.NoError(t, err)
	n := 0
	for _, file := range []string{"errors.go", "roles.go", "limits.go", "guard.go"} {
		f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
		require.NoError(t, err)
		inspectCodes(t, f, string(doc), &n)
	}
	assert.Greater(t, n, 15, "found the code constants")
}

// inspectCodes asserts doc lists the value of every Code… constant in f.
func inspectCodes(t *testing.T, f *ast.File, doc string, n *int) {
	ast.Inspect(f, func(node ast.Node) bool {
		vs, ok := node.(*ast.ValueSpec)
		if !ok || !strings.HasPrefix(vs.Names[0].Name, "Code") {
			return true
		}
		lit := vs.Values[0].(*ast.BasicLit)
		code, err := strconv.Unquote(lit.Value)
		require.NoError(t, err)
		assert.True(t, strings.Contains(doc, "`"+code+"`"), "docs/api.md does not list %s (%s)", vs.Names[0].Name, code)
		*n++
		return true
	})
}
