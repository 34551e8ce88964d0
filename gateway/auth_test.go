package gateway_test

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/gateway"
)

// TestAmbiguousCredentials: a request with more than one Authorization
// credential is refused with 400 whichever of them is valid, and nothing
// is stored; one credential authenticates as before.
func TestAmbiguousCredentials(t *testing.T) {
	h := newHarness(t)
	tests := []struct {
		name    string
		headers []string
		status  int
		code    string
	}{
		{"two headers, both valid", []string{"Bearer tok-0384", "Bearer tok-42420001"}, 400, gateway.CodeAmbiguousCredentials},
		{"two headers, the first valid", []string{"Bearer tok-0384", "Bearer nobody"}, 400, gateway.CodeAmbiguousCredentials},
		{"two headers, one empty", []string{"", "Bearer tok-0384"}, 400, gateway.CodeAmbiguousCredentials},
		{"two headers, the same", []string{"Bearer tok-0384", "Bearer tok-0384"}, 400, gateway.CodeAmbiguousCredentials},
		{"a joined list", []string{"Bearer tok-0384, Bearer tok-42420001"}, 400, gateway.CodeAmbiguousCredentials},
		{"a joined list without blanks", []string{"Bearer tok-0384,Bearer tok-42420001"}, 400, gateway.CodeAmbiguousCredentials},
		{"a token and a bare scheme", []string{"Bearer tok-0384, Basic"}, 400, gateway.CodeAmbiguousCredentials},
		{"one credential", []string{"Bearer tok-0384"}, 202, ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := msg("WMO301", "0384", "42420001", "AC"+string(rune('a'+i)))
			req, err := http.NewRequest(http.MethodPost, h.url+"/v1/berichten", bytes.NewReader(body))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/xml")
			for _, v := range tt.headers {
				req.Header.Add("Authorization", v)
			}
			resp, err := h.client.Do(req)
			require.NoError(t, err)
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.NoError(t, err)
			r := response{status: resp.StatusCode, header: resp.Header, body: b}
			require.Equal(t, tt.status, r.status, string(r.body))
			if tt.code != "" {
				assert.Equal(t, tt.code, r.json(t)["code"])
				assert.Empty(t, r.header.Get("WWW-Authenticate"), "not a 401: another credential would not help")
			}
		})
	}
	r := h.do(http.MethodGet, "/v1/mailbox", "tok-42420001", "", nil)
	require.Equal(t, 200, r.status, string(r.body))
	assert.Len(t, r.json(t)["berichten"], 1, "only the request with one credential stored a message")
}
