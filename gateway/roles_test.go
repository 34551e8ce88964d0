package gateway

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRolesTable walks every endpoint × role of Permissions and checks the
// check agrees, and that every authenticated route has a row (fail closed
// would otherwise lock everyone out of it).
func TestRolesTable(t *testing.T) {
	for _, rt := range slices.Concat(apiRoutes, securityRoutes, vspRoutes) {
		perm, ok := permission(rt.method, rt.pattern)
		require.True(t, ok, "%s %s has no row in Permissions", rt.method, rt.pattern)
		for _, role := range AllRoles {
			p := Principal{ID: "x", Role: role, Party: slices.Contains(parties, role)}
			err := authorize(perm, ok, p)
			if slices.Contains(perm.Roles, role) {
				assert.NoError(t, err, "%s %s as %s", rt.method, rt.pattern, role)
			} else {
				assert.Equal(t, KindForbidden, asError(err).Kind, "%s %s as %s", rt.method, rt.pattern, role)
			}
		}
	}
	_, ok := permission("GET", "/v1/unknown")
	assert.Error(t, authorize(Permission{}, ok, Principal{ID: "x", Role: RoleOperator}), "unknown endpoints are refused")
}

func TestLimiter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newLimiter(Limits{Rate: 1, Burst: 2, Concurrent: 3})
	for range 2 {
		_, err := l.acquire("a", now)
		require.NoError(t, err)
	}
	retry, err := l.acquire("a", now)
	require.Error(t, err)
	assert.Equal(t, CodeRateLimited, asError(err).Code)
	assert.Equal(t, 429, asError(err).Kind.Status())
	assert.Equal(t, 1, retry)
	_, err = l.acquire("b", now)
	assert.NoError(t, err, "another principal has its own bucket")

	_, err = l.acquire("a", now.Add(time.Second))
	require.NoError(t, err, "a token refills after 1/rate")
	_, err = l.acquire("a", now.Add(10*time.Second))
	require.Error(t, err, "three in flight")
	assert.Equal(t, CodeTooManyConcurrent, asError(err).Code)
	l.release("a")
	_, err = l.acquire("a", now.Add(10*time.Second))
	assert.NoError(t, err)
}
