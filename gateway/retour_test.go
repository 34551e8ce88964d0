package gateway_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/gateway"
)

// ruleValidator is fakeValidator that finds rule CS002 broken in a
// message holding "CS002".
type ruleValidator struct{ fakeValidator }

// Its tree of a message is one element whose text is "read " and the
// Identificatie.
func (v ruleValidator) ValidateRules(ctx context.Context, b []byte) (bericht.Header, []gateway.Finding, *bericht.Tree, error) {
	h, err := v.Validate(ctx, b)
	if err != nil {
		return h, nil, nil, err
	}
	text := "read " + h.Identificatie
	tb := bericht.NewTreeBuilder(1, len(text))
	tb.Set(0, bericht.NameID("Bericht"), -1, 1, 1, []byte(text))
	parsed := tb.Tree()
	if !bytes.Contains(b, []byte("CS002")) {
		return h, nil, parsed, nil
	}
	return h, []gateway.Finding{{Rule: "CS002", Retourcode: "0001", Path: "/Bericht/Client/Bsn", Line: 1, Text: "Bsn (line 1) fails the elfproef"}}, parsed, nil
}

// fakeAnswerer answers for every recipient but those in recipientAnswers,
// with a toy retour addressed back to the sender.
type fakeAnswerer struct {
	recipientAnswers map[string]bool
}

func (f fakeAnswerer) Answer(ctx context.Context, h bericht.Header, route gateway.Route, body []byte, findings []gateway.Finding) (*gateway.Answer, error) {
	if f.recipientAnswers[route.Recipient] {
		return nil, nil
	}
	s, _ := bericht.Lookup(h.Soort.Pair)
	r := h
	r.Soort, r.BerichtCode, r.IdentificatieRetour = s, s.Code, "K"+h.Identificatie
	return &gateway.Answer{
		Header: r, Body: retourMsg(s.Name, h.Afzender, h.Ontvanger, h.Identificatie, r.IdentificatieRetour),
		Route: gateway.Route{Recipient: h.Sender(), Mailbox: h.Sender()}, Codes: []string{"0001"},
	}, nil
}

func withAnswerer(recipientAnswers ...string) func(*gateway.Config) {
	return func(c *gateway.Config) {
		c.Validator = ruleValidator{}
		a := fakeAnswerer{recipientAnswers: map[string]bool{}}
		for _, r := range recipientAnswers {
			a.recipientAnswers[r] = true
		}
		c.Answerer = a
	}
}

func TestSwitchAnswersLevel2Breach(t *testing.T) {
	h := newHarness(t, withAnswerer("65656055"))
	// "999999990" stands for a BSN: it must not reach the log.
	heen := append(msg("WMO301", "0384", "42420001", "A1"), " CS002 999999990"...)

	r := h.post("tok-0384", heen)
	require.Equal(t, http.StatusAccepted, r.status, string(r.body))
	got := r.json(t)
	assert.Equal(t, "retour", got["status"])
	assert.Equal(t, "WMO302", got["retourBerichtsoort"])
	assert.Equal(t, []any{"0001"}, got["retourCodes"])
	assert.Equal(t, []any{"CS002"}, got["rules"])
	assert.Equal(t, []any{map[string]any{"rule": "CS002", "retourcode": "0001", "path": "/Bericht/Client/Bsn", "line": float64(1),
		"text": "Bsn (line 1) fails the elfproef"}}, got["findings"], "what is wrong and where")
	heenID, retourID := got["id"].(string), got["retour"].(string)
	require.NotEmpty(t, heenID)
	require.NotEmpty(t, retourID)

	// Not delivered to the recipient; the answer is in the sender's mailbox.
	box := h.do(http.MethodGet, "/v1/mailbox", "tok-42420001", "", nil)
	require.Equal(t, http.StatusOK, box.status)
	assert.NotContains(t, string(box.body), heenID)
	box = h.do(http.MethodGet, "/v1/mailbox", "tok-0384", "", nil)
	require.Equal(t, http.StatusOK, box.status)
	assert.Contains(t, string(box.body), retourID)
	assert.Contains(t, string(box.body), "WMO302")

	// Track & trace links both ways.
	tr := h.do(http.MethodGet, "/v1/berichten/"+heenID, "tok-0384", "", nil)
	require.Equal(t, http.StatusOK, tr.status, string(tr.body))
	assert.Contains(t, string(tr.body), retourID)
	assert.Contains(t, string(tr.body), `"retourAfterMs":`)
	tr = h.do(http.MethodGet, "/v1/berichten/"+retourID, "tok-0384", "", nil)
	require.Equal(t, http.StatusOK, tr.status, string(tr.body))
	assert.Contains(t, string(tr.body), heenID)

	// A resend changes nothing: the same answer, no second one.
	r = h.post("tok-0384", heen)
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	assert.Equal(t, "duplicate", r.json(t)["status"])
	assert.Equal(t, retourID, r.json(t)["retour"])
	h.store.mu.Lock()
	assert.Equal(t, 2, h.store.seq, "the heenbericht and one answer stored")
	h.store.mu.Unlock()

	assert.Equal(t, 1.0, counter(t, h, "knooppunt_gateway_rule_findings_total", "CS002"))
	logs := h.logs.String()
	assert.Contains(t, logs, "CS002")
	assert.Contains(t, logs, "answered by the switch")
	assert.NotContains(t, logs, "999999990")
}

func TestRecipientAnswersItself(t *testing.T) {
	h := newHarness(t, withAnswerer("65656055"))
	r := h.post("tok-0384", append(msg("WMO301", "0384", "65656055", "B1"), " CS002"...))
	require.Equal(t, http.StatusAccepted, r.status, string(r.body))
	assert.Equal(t, "stored", r.json(t)["status"])
	assert.Nil(t, r.json(t)["retour"])
	box := h.do(http.MethodGet, "/v1/mailbox", "tok-65656055", "", nil)
	assert.Contains(t, string(box.body), r.json(t)["id"].(string), "delivered: the recipient answers")
}

func TestValidMessageIsDelivered(t *testing.T) {
	h := newHarness(t, withAnswerer())
	r := h.post("tok-0384", msg("WMO301", "0384", "42420001", "C1"))
	require.Equal(t, http.StatusAccepted, r.status, string(r.body))
	assert.Equal(t, "stored", r.json(t)["status"])
	box := h.do(http.MethodGet, "/v1/mailbox", "tok-42420001", "", nil)
	assert.Contains(t, string(box.body), r.json(t)["id"].(string))
	box = h.do(http.MethodGet, "/v1/mailbox", "tok-0384", "", nil)
	assert.NotContains(t, string(box.body), "WMO302")
}

// TestTreeReachesTheStore: the tree the validator built of a message is
// handed to the store with it, for a delivered message and for a
// heenbericht the switch answers; the switch's answer has none.
func TestTreeReachesTheStore(t *testing.T) {
	h := newHarness(t, withAnswerer())
	delivered := h.post("tok-0384", msg("WMO301", "0384", "42420001", "P1"))
	require.Equal(t, http.StatusAccepted, delivered.status, string(delivered.body))
	answered := h.post("tok-0384", append(msg("WMO301", "0384", "42420001", "P2"), " CS002"...))
	require.Equal(t, http.StatusAccepted, answered.status, string(answered.body))
	h.store.mu.Lock()
	defer h.store.mu.Unlock()
	tree := func(id any) *bericht.Tree { return h.store.msgs[id.(string)].m.Tree }
	assert.Equal(t, "read P1", tree(delivered.json(t)["id"]).Text(0))
	assert.Equal(t, "read P2", tree(answered.json(t)["id"]).Text(0))
	assert.Nil(t, tree(answered.json(t)["retour"]), "the switch's own answer was not validated")
}

// TestAnswersAreNotAnswered: a retourbericht breaking a rule is delivered;
// the switch answers only heenberichten.
func TestAnswersAreNotAnswered(t *testing.T) {
	h := newHarness(t, withAnswerer())
	require.Equal(t, http.StatusAccepted, h.post("tok-0384", msg("WMO301", "0384", "42420001", "D1")).status)
	r := h.post("tok-42420001", append(retourMsg("WMO302", "0384", "42420001", "D1", "R1"), " CS002"...))
	require.Equal(t, http.StatusAccepted, r.status, string(r.body))
	assert.Equal(t, "stored", r.json(t)["status"])
}

// counter finds the series of a counter vector by its label value.
func counter(t *testing.T, h *harness, name, label string) float64 {
	t.Helper()
	mfs, err := h.reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetValue() == label {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("no series %s{%s}", name, label)
	return 0
}

// failingAnswerStore stores only the heenbericht of the first answered
// put and fails it, as a store that took the two apart could leave them.
type failingAnswerStore struct {
	*fakeStore
	failed bool
}

func (f *failingAnswerStore) PutAnswered(ctx context.Context, heen, answer gateway.Message) (gateway.Receipt, gateway.Receipt, error) {
	if !f.failed {
		f.failed = true
		if _, err := f.fakeStore.Put(ctx, heen); err != nil {
			return gateway.Receipt{}, gateway.Receipt{}, err
		}
		return gateway.Receipt{}, gateway.Receipt{}, errors.New("disk gone")
	}
	return f.fakeStore.PutAnswered(ctx, heen, answer)
}

// TestResendCompletesAnAnswer: when a heenbericht was stored without its
// answer, the sender's resend produces the answer, and the heenbericht is
// still not delivered.
func TestResendCompletesAnAnswer(t *testing.T) {
	h := newHarness(t, withAnswerer(), func(c *gateway.Config) {
		c.Store = &failingAnswerStore{fakeStore: c.Store.(*fakeStore)}
	})
	heen := append(msg("WMO301", "0384", "42420001", "E1"), " CS002"...)
	r := h.post("tok-0384", heen)
	require.Equal(t, http.StatusInternalServerError, r.status, string(r.body))

	r = h.post("tok-0384", heen)
	require.Equal(t, http.StatusAccepted, r.status, string(r.body))
	assert.Equal(t, "retour", r.json(t)["status"])
	assert.NotEmpty(t, r.json(t)["retour"])
	box := h.do(http.MethodGet, "/v1/mailbox", "tok-42420001", "", nil)
	assert.NotContains(t, string(box.body), r.json(t)["id"].(string))
	box = h.do(http.MethodGet, "/v1/mailbox", "tok-0384", "", nil)
	assert.Contains(t, string(box.body), r.json(t)["retour"].(string))
}
