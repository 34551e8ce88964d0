package gateway_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/audit"
	"github.com/knooppunt/knooppunt/gateway"
)

// failingAuditor cannot record anything.
type failingAuditor struct{ memAuditor }

func (failingAuditor) Append(context.Context, audit.Entry) (audit.Entry, error) {
	return audit.Entry{}, errors.New("disk full")
}

// recordingAuditor keeps what was appended.
type recordingAuditor struct {
	memAuditor
	entries []audit.Entry
}

func (r *recordingAuditor) Append(_ context.Context, e audit.Entry) (audit.Entry, error) {
	r.entries = append(r.entries, e)
	return e, nil
}

// TestIngestGuarded: a front door's message passes the role table, the
// limits and the audit record as a POST does.
func TestIngestGuarded(t *testing.T) {
	newServer := func(aud gateway.Auditor) *gateway.Server {
		st := newStore()
		parties := newParties()
		srv, err := gateway.New(gateway.Config{
			AllowTokens: true, Validator: fakeValidator{}, Router: &fakeRouter{parties: parties, store: st}, Store: st, Parties: parties,
			Audit: aud, Limits: gateway.Limits{Rate: 1, Burst: 1},
		})
		require.NoError(t, err)
		return srv
	}
	party := gateway.Principal{ID: "0384", Party: true, Role: gateway.RoleGemeente}
	ctx := context.Background()

	rec := &recordingAuditor{}
	srv := newServer(rec)
	a, err := srv.IngestGuarded(ctx, party, "192.0.2.7:4711", msg("WMO301", "0384", "42420001", "G1"), nil)
	require.NoError(t, err)
	require.Len(t, rec.entries, 1)
	assert.Equal(t, audit.Entry{Principal: "0384", Action: audit.Received, MessageID: a.ID, Remote: "192.0.2.7:4711"}, rec.entries[0])

	_, err = srv.IngestGuarded(ctx, party, "", msg("WMO301", "0384", "42420001", "G2"), nil)
	assert.Equal(t, gateway.CodeRateLimited, codeOf(err), "burst 1")

	for _, p := range []gateway.Principal{
		{ID: "operator", Operator: true, Role: gateway.RoleOperator},
		{ID: "auditor", Operator: true, Role: gateway.RoleAuditor},
		{ID: "nza", Role: gateway.RoleNZa},
	} {
		_, err = srv.IngestGuarded(ctx, p, "", msg("WMO301", "0384", "42420001", "G3"), nil)
		assert.Equal(t, gateway.CodeNotAParty, codeOf(err), p.ID)
	}
	assert.Len(t, rec.entries, 1, "refusals are not recorded")

	_, err = newServer(&failingAuditor{}).IngestGuarded(ctx, party, "", msg("WMO301", "0384", "42420001", "G4"), nil)
	assert.Equal(t, gateway.CodeAuditUnavailable, codeOf(err))
}

func codeOf(err error) string {
	var e *gateway.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}
