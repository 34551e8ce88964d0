package samenloop

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/sample"
)

func TestHandler(t *testing.T) {
	g := sample.New(9)
	m, f := wmo301(t, g, "0363")
	st := newMemStore()
	e := newEngine(t, st, time.Unix(int64(f.begin)*86400, 0).UTC())
	require.NoError(t, e.Observe("WMO301", m.XML))
	h := Handler(HandlerConfig{Engine: e, Authenticate: func(r *http.Request) (bool, bool) {
		switch r.Header.Get("Authorization") {
		case "Bearer op":
			return true, true
		case "Bearer gemeente":
			return false, true
		}
		return false, false
	}})
	do := func(token, path, body string) (int, map[string]any) {
		r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		var out map[string]any
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &out), w.Body.String())
		return w.Code, out
	}
	good := RegisterHeader + "\n" + bsnOf(t, m.XML) + ",ja,2025-01-01," + f.begin.String() + ",\n"

	code, out := do("", "/v1/samenloop/run", "")
	assert.Equal(t, 401, code)
	assert.Equal(t, "unauthenticated", out["code"])
	code, out = do("gemeente", "/v1/samenloop/wlz-register", good)
	assert.Equal(t, 403, code)
	assert.Equal(t, "forbidden", out["code"])
	code, out = do("op", "/v1/samenloop/run", "")
	assert.Equal(t, 409, code)
	assert.Equal(t, "wlz-register-missing", out["code"])

	code, out = do("op", "/v1/samenloop/wlz-register", good+"123,ja,x,y,\n"+"999999999,nee,2025-01-01,2025-01-01,\n")
	assert.Equal(t, 422, code)
	assert.Equal(t, CodeRegisterInvalid, out["code"])
	assert.Len(t, out["lines"], 2)
	assert.NotContains(t, toJSON(t, out), bsnOf(t, m.XML))

	code, out = do("op", "/v1/samenloop/wlz-register", good)
	require.Equal(t, 200, code)
	assert.Equal(t, 1.0, out["persons"])
	code, out = do("op", "/v1/samenloop/run", "")
	require.Equal(t, 200, code)
	assert.Equal(t, 1.0, out["signals"])
	code, out = do("op", "/v1/samenloop/run", "")
	require.Equal(t, 200, code)
	assert.Equal(t, 0.0, out["signals"], "rerun sends nothing")
	assert.Equal(t, 1, st.count())
}

func toJSON(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}
