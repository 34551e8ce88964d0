package conformance

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNamedPartiesOnly runs cases against a fake switch that records the
// credentials of every request. With NamedPartiesOnly the run acts only as
// the party given a token: a case that would act as another party, or
// post a message whose header names one, is skipped without a request;
// without it the same cases act as the dev parties.
func TestNamedPartiesOnly(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/v1/validate":
			w.Write([]byte(`{"valid":true}`))
		case "/v1/mailbox":
			w.Write([]byte(`{"berichten":[]}`))
		default:
			w.WriteHeader(http.StatusAccepted)
			w.Write([]byte(`{"status":"stored","id":"x1","ontvanger":"42420001"}`))
		}
	}))
	defer fake.Close()

	var cases []*Case
	for name, text := range map[string]string{
		"post-to-other": "# a toewijzing to an aanbieder without a token\nmessage heen sample WMO301 afzender=0384 ontvanger=42420001\npost 0384 heen\nexpect 202 stored\n",
		"poll-other":    "# polls a mailbox without a token\npoll 42420001\nexpect 200\n",
		"validate-own":  "# validation only: nothing is stored for anyone\nmessage heen sample WMO301 afzender=0384 ontvanger=42420001\nvalidate 0384 heen\nexpect 200 valid=true\n",
	} {
		c, err := Parse(name+Ext, []byte(text))
		require.NoError(t, err)
		cases = append(cases, c)
	}
	sort.Slice(cases, func(i, j int) bool { return cases[i].Name < cases[j].Name })

	rep, err := Run(context.Background(), Config{Target: fake.URL, Tokens: map[string]string{"0384": "t-0384"}, NamedPartiesOnly: true}, cases)
	require.NoError(t, err)
	require.Len(t, rep.Results, 3)
	assert.Equal(t, Skip, rep.Results[0].Outcome, "poll-other")
	assert.Contains(t, rep.Results[0].Message, "party 42420001")
	assert.Equal(t, Skip, rep.Results[1].Outcome, "post-to-other")
	assert.Contains(t, rep.Results[1].Message, "party 42420001")
	assert.Equal(t, Pass, rep.Results[2].Outcome, "validate-own: %s", rep.Results[2].Message)
	assert.Equal(t, []string{"POST /v1/validate Bearer t-0384"}, seen, "one request, as the named party")

	seen = nil
	rep, err = Run(context.Background(), Config{Target: fake.URL, Tokens: map[string]string{"0384": "t-0384"}}, cases)
	require.NoError(t, err)
	assert.Equal(t, "3 passed, 0 failed", rep.Summary())
	assert.Contains(t, seen, "GET /v1/mailbox Bearer dev-42420001", "without NamedPartiesOnly the dev parties are used")
}
