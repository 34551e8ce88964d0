package node

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/audit"
	"github.com/knooppunt/knooppunt/gateway"
	"github.com/knooppunt/knooppunt/routing"
	"github.com/knooppunt/knooppunt/store/pebble"
)

// listenerRow is one endpoint of a listener other than the API, with the
// roles it admits; docs/security.md shows the same rows.
type listenerRow struct {
	method, path string
	roles        []string
}

// insightRows is the endpoint × role table of the products listener
// (package insight). Aanbieders and auditors pass stuurinfo and the
// dashboard but see no rows: they act for no gemeente.
var insightRows = []listenerRow{
	{"GET", "/v1/stuurinfo", []string{gateway.RoleGemeente, gateway.RoleAanbieder, gateway.RoleSamenwerkingsverband, gateway.RoleOperator, gateway.RoleAuditor}},
	{"GET", "/dashboard", []string{gateway.RoleGemeente, gateway.RoleAanbieder, gateway.RoleSamenwerkingsverband, gateway.RoleOperator, gateway.RoleAuditor}},
	{"GET", "/v1/stuurinfo/nza", []string{gateway.RoleOperator, gateway.RoleNZa}},
	{"POST", "/v1/samenloop/wlz-register", []string{gateway.RoleOperator}},
	{"POST", "/v1/samenloop/run", []string{gateway.RoleOperator}},
}

// listener is one listener's table with the code of its refusals.
type listener struct {
	name      string
	url       func(*Node) string
	rows      []listenerRow
	forbidden []string // the stable codes a 403 may carry
}

// TestRoleTableOverHTTP walks every endpoint of every listener with every
// role's dev token through the real handlers of a dev node: an allowed
// role is neither 401 nor 403, a denied one is 403 with the listener's
// stable code. The API's rows are gateway.Permissions itself.
func TestRoleTableOverHTTP(t *testing.T) {
	n, err := Start(context.Background(), Config{Dev: true, Addr: "127.0.0.1:0",
		Store:     pebble.Config{Dir: filepath.Join(t.TempDir(), "data")},
		Insight:   InsightConfig{Addr: "127.0.0.1:0"},
		BackupDir: filepath.Join(t.TempDir(), "backups"),
		Logger:    zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.ErrorLevel)})
	require.NoError(t, err)
	defer n.Close()

	// One dev token per role.
	tokens := map[string]string{}
	for _, dt := range routing.DevTokens() {
		if _, ok := tokens[string(dt.Role)]; !ok {
			tokens[string(dt.Role)] = dt.Token
		}
	}
	for _, role := range gateway.AllRoles {
		require.Contains(t, tokens, role, "the dev registry has a token for every role")
	}

	var apiRows []listenerRow
	for _, p := range gateway.Permissions {
		apiRows = append(apiRows, listenerRow{p.Method, strings.ReplaceAll(p.Pattern, "{id}", "01JAAAAAAAAAAAAAAAAAAAAAAA"), p.Roles})
	}
	listeners := []listener{
		{"api", (*Node).URL, apiRows, []string{gateway.CodeRoleForbidden, gateway.CodeNotAParty}},
		{"insight", (*Node).InsightURL, insightRows, []string{"forbidden"}},
	}
	walked := 0
	for _, l := range listeners {
		base := l.url(n)
		require.NotEmpty(t, base, l.name)
		for _, row := range l.rows {
			for _, role := range gateway.AllRoles {
				t.Run(l.name+" "+row.method+" "+row.path+" "+role, func(t *testing.T) {
					code, body := call(t, row.method, base+row.path, tokens[role], "", "")
					if slices.Contains(row.roles, role) {
						assert.NotContains(t, []int{http.StatusUnauthorized, http.StatusForbidden}, code, "allowed, got %s", body)
						return
					}
					require.Equal(t, http.StatusForbidden, code, "denied, got %s", body)
					var e struct{ Code string }
					require.NoError(t, json.Unmarshal(body, &e), string(body))
					assert.Contains(t, l.forbidden, e.Code)
				})
				walked++
			}
		}
	}
	assert.Equal(t, (len(gateway.Permissions)+len(insightRows))*len(gateway.AllRoles), walked)

	// The products listener records its accesses (gateway.Server.Audited).
	for _, a := range []audit.Action{audit.StuurinfoQuery, audit.AuditQueried} {
		es, _, err := n.Audit().Query(context.Background(), audit.Filter{Action: a})
		require.NoError(t, err)
		assert.NotEmpty(t, es, "no %s entry", a)
	}

	// Without credentials every listener answers 401.
	for _, l := range listeners {
		code, _ := call(t, l.rows[0].method, l.url(n)+l.rows[0].path, "wrong", "", "")
		assert.Equal(t, http.StatusUnauthorized, code, l.name)
	}
}
