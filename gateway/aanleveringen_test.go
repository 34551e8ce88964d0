package gateway_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/gateway"
)

// fakeAanleveringen reads the lines of a toy message as "AANL=key:status"
// words and checks them against the fake store's ledger, for recipient
// 0384 only. stale makes it find nothing, as a check that a concurrent
// message overtook.
type fakeAanleveringen struct {
	store *fakeStore
	stale bool
}

var aanlWord = regexp.MustCompile(`AANL=(\w+):(\d)`)

func (f fakeAanleveringen) Check(ctx context.Context, m gateway.Message) ([]gateway.Aanlevering, []gateway.Finding, error) {
	if m.Route.Recipient != "0384" {
		return nil, nil, nil
	}
	var as []gateway.Aanlevering
	var found []gateway.Finding
	for i, w := range aanlWord.FindAllSubmatch(m.Body, -1) {
		a := gateway.Aanlevering{Key: sha256.Sum256(w[1]), Status: string(w[2])}
		a.Refused = gateway.Finding{Rule: "TR063", Retourcode: "9063", Line: i + 1,
			Path: fmt.Sprintf("/Bericht/Client/StartProducten/StartProduct[%d]", i+1)}
		if a.Status == "1" {
			a.Refused.Rule, a.Refused.Retourcode = "TR074", "9074"
		}
		as = append(as, a)
		f.store.mu.Lock()
		delivered := f.store.ledger[a.Key] == "1"
		f.store.mu.Unlock()
		if !f.stale && delivered == (a.Status == "1") {
			found = append(found, a.Refused)
		}
	}
	return as, found, nil
}

func withAanleveringen(stale bool) func(*gateway.Config) {
	return func(c *gateway.Config) {
		withAnswerer()(c)
		c.Aanleveringen = fakeAanleveringen{store: c.Store.(*fakeStore), stale: stale}
	}
}

// TestAanleveringenAnswered: a 305 whose lines break TR074 or TR063 is
// answered by the switch and not delivered, whether the check found it
// or the store refused it in the write (a race the check lost); a
// message that keeps them is delivered and its lines recorded.
func TestAanleveringenAnswered(t *testing.T) {
	for _, stale := range []bool{false, true} {
		t.Run(fmt.Sprintf("stale=%v", stale), func(t *testing.T) {
			h := newHarness(t, withAanleveringen(stale))
			post := func(id, lines string) map[string]any {
				t.Helper()
				r := h.post("tok-42420001", append(msg("WMO305", "42420001", "0384", id), lines...))
				require.Equal(t, http.StatusAccepted, r.status, string(r.body))
				return r.json(t)
			}
			got := post("P1", " AANL=a:1")
			assert.Equal(t, "stored", got["status"])

			got = post("P2", " AANL=b:1 AANL=a:1")
			assert.Equal(t, "retour", got["status"])
			assert.Equal(t, []any{"TR074"}, got["rules"])
			assert.Equal(t, []any{map[string]any{"rule": "TR074", "retourcode": "9074", "path": "/Bericht/Client/StartProducten/StartProduct[2]",
				"line": float64(2), "text": ""}}, got["findings"], "the offending line")
			heen := got["id"].(string)
			box := h.do(http.MethodGet, "/v1/mailbox", "tok-0384", "", nil)
			require.Equal(t, http.StatusOK, box.status)
			assert.NotContains(t, string(box.body), heen, "not delivered")
			h.store.mu.Lock()
			assert.NotContains(t, h.store.ledger, sha256.Sum256([]byte("b")), "a line of a message not delivered is not recorded")
			h.store.mu.Unlock()

			got = post("P3", " AANL=c:3")
			assert.Equal(t, "retour", got["status"])
			assert.Equal(t, []any{"TR063"}, got["rules"])

			assert.Equal(t, "stored", post("P4", " AANL=a:3")["status"])
			assert.Equal(t, "stored", post("P5", " AANL=a:1")["status"])
			assert.Equal(t, 1.0, counter(t, h, "knooppunt_gateway_rule_findings_total", "TR074"))

			// To a gemeente without the check: delivered.
			r := h.post("tok-42420001", append(msg("WMO305", "42420001", "0363", "P6"), " AANL=a:1"...))
			require.Equal(t, http.StatusAccepted, r.status, string(r.body))
			assert.Equal(t, "stored", r.json(t)["status"])
		})
	}
}

func TestAanleveringenNeedAnAnswerer(t *testing.T) {
	err := gateway.Config{AllowTokens: true, Aanleveringen: fakeAanleveringen{}}.Validate()
	assert.ErrorContains(t, err, "the aanleveringen check needs an answerer")
}
