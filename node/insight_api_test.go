package node

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/samenloop"
	"github.com/knooppunt/knooppunt/sample"
	"github.com/knooppunt/knooppunt/store/pebble"
)

// TestInsightOnTheAPI: with Insight.Enabled and no Addr the products are
// served on the API's own listener, walked over the endpoint × role table
// (operator all, gemeente its own reads, NZa its export, aanbieder and
// auditor nothing), and no second listener is opened.
func TestInsightOnTheAPI(t *testing.T) {
	dir := t.TempDir()
	n, err := Start(context.Background(), Config{Dev: true, Addr: "127.0.0.1:0",
		Store:   pebble.Config{Dir: filepath.Join(dir, "data")},
		Insight: InsightConfig{Enabled: true},
		Logger:  zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)})
	require.NoError(t, err)
	defer n.Close()
	assert.Empty(t, n.InsightURL(), "no listener of their own")

	register := samenloop.RegisterHeader + "\n"
	type want struct{ operator, gemeente, aanbieder, nza, auditor int }
	tests := []struct {
		method, path, ctype, body string
		want                      want
	}{
		{"GET", "/v1/stuurinfo", "", "", want{200, 200, 403, 403, 403}},
		{"GET", "/v1/stuurinfo/nza", "", "", want{200, 403, 403, 200, 403}},
		{"GET", "/dashboard", "", "", want{200, 200, 403, 403, 403}},
		{"POST", "/v1/samenloop/wlz-register", "text/csv", register, want{200, 403, 403, 403, 403}},
		{"POST", "/v1/samenloop/run", "", "", want{200, 403, 403, 403, 403}},
	}
	for _, tt := range tests {
		t.Run(tt.method+tt.path, func(t *testing.T) {
			for token, status := range map[string]int{
				"dev-operator": tt.want.operator, "dev-0363": tt.want.gemeente, "dev-42420001": tt.want.aanbieder,
				"dev-nza": tt.want.nza, "dev-auditor": tt.want.auditor,
			} {
				code, body := call(t, tt.method, n.URL()+tt.path, token, tt.ctype, tt.body)
				assert.Equal(t, status, code, "%s: %s", token, body)
			}
			code, _ := call(t, tt.method, n.URL()+tt.path, "no-such-token", tt.ctype, tt.body)
			assert.Equal(t, http.StatusUnauthorized, code)
		})
	}
}

// TestProductsSeeEveryPostBeforeThem: a samenloop run and a stuurinfo query
// made right after a post see that post — they wait until the products
// have followed the store's feed to where it stood when they came in.
func TestProductsSeeEveryPostBeforeThem(t *testing.T) {
	dir := t.TempDir()
	n, err := Start(context.Background(), Config{Dev: true, Addr: "127.0.0.1:0",
		Store:   pebble.Config{Dir: filepath.Join(dir, "data")},
		Insight: InsightConfig{Enabled: true},
		Logger:  zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)})
	require.NoError(t, err)
	defer n.Close()
	code, body := call(t, "POST", n.URL()+"/v1/samenloop/wlz-register", "dev-operator", "text/csv", samenloop.RegisterHeader+"\n")
	require.Equal(t, http.StatusOK, code, string(body))
	s, _ := bericht.Lookup("WMO301")
	for i := range 5 {
		m, err := sample.New(int64(40+i)).Heen(s, sample.Options{Afzender: "0363", Ontvanger: "12345678", Identificatie: fmt.Sprintf("FEED%d", i), Products: 1})
		require.NoError(t, err)
		code, body := call(t, "POST", n.URL()+"/v1/berichten", "dev-0363", "application/xml", string(m.XML))
		require.Equal(t, http.StatusAccepted, code, string(body))
		code, body = call(t, "POST", n.URL()+"/v1/samenloop/run", "dev-operator", "", "")
		require.Equal(t, http.StatusOK, code, string(body))
		var sum struct {
			Active int `json:"active_toewijzingen"`
		}
		require.NoError(t, json.Unmarshal(body, &sum), string(body))
		assert.Equal(t, i+1, sum.Active, "the run right after post %d sees it", i+1)
	}
	code, body = call(t, "GET", n.URL()+"/v1/stuurinfo?granularity=month", "dev-operator", "", "")
	require.Equal(t, http.StatusOK, code, string(body))
	assert.Contains(t, string(body), `"berichten":5`, "the query counts every post before it")
}
