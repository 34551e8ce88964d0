package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/xsd"
)

func TestBenchTemplateVariantsAreValidAndUnique(t *testing.T) {
	tmpl, err := benchTemplate(benchOptions{soort: "JW301", products: 2, afzender: "0599", ontvanger: "65656055"})
	require.NoError(t, err)
	set, err := xsd.Load(xsd.Config{})
	require.NoError(t, err)
	defer set.Close()
	seen := map[string]bool{}
	for _, i := range []int{0, 1, 35, 36, 1 << 20, 36*36*36*36*36*36*36*36*36 - 1} {
		b := tmpl.variant(nil, i)
		h, err := set.Validate(b)
		require.NoError(t, err, "variant %d", i)
		assert.Equal(t, tmpl.id(i), h.Identificatie)
		assert.Len(t, h.Identificatie, 12)
		assert.False(t, seen[h.Identificatie], "identificatie repeated")
		seen[h.Identificatie] = true
		assert.Equal(t, "0599", h.Afzender)
	}
	_, err = benchTemplate(benchOptions{soort: "WMO302"})
	assert.ErrorContains(t, err, "not a heenbericht")
}

func TestBenchRuns(t *testing.T) {
	for _, run := range []string{"http", "http net/http", "validate", "store"} {
		t.Run(run, func(t *testing.T) {
			mode, client, _ := strings.Cut(run, " ")
			var out, errOut bytes.Buffer
			args := []string{"--mode", mode, "--n", "40", "--concurrency", "4", "--json", "--data", filepath.Join(t.TempDir(), "store")}
			if mode == "http" {
				args = append(args, "--consume")
			}
			if client != "" {
				args = append(args, "--client", client)
			}
			code := runBench(args, nil, &out, &errOut)
			require.Equal(t, 0, code, errOut.String())
			var results []benchResult
			require.NoError(t, json.Unmarshal(out.Bytes(), &results), out.String())
			require.NotEmpty(t, results)
			for _, r := range results {
				assert.Equal(t, 40, r.Messages, r.Phase)
				assert.Zero(t, r.Failed, "%s: %s", r.Phase, r.FirstFailed)
				assert.Positive(t, r.PerSecond)
				assert.LessOrEqual(t, r.P50, r.P99)
			}
			if mode == "http" {
				require.Len(t, results, 2)
				assert.Equal(t, 40, results[0].Statuses["202"])
				assert.Equal(t, 40, results[1].Statuses["200/204"], "every message fetched and confirmed once")
			}
		})
	}
}

func TestBenchFileAndUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	require.Equal(t, 2, runBench([]string{"--n", "0"}, nil, &out, &errOut))
	require.Equal(t, 2, runBench([]string{"a", "b"}, nil, &out, &errOut))
	f := filepath.Join(t.TempDir(), "bad.xml")
	require.NoError(t, os.WriteFile(f, []byte("<x/>"), 0o600))
	errOut.Reset()
	require.Equal(t, 2, runBench([]string{"--mode", "validate", f}, nil, &out, &errOut))
	assert.Contains(t, errOut.String(), "not a valid message")
}

// TestRawClientReconnects: the raw client opens a new connection when the
// server closes one (here after every other answer, and once mid-way with
// a broken answer), reads chunked answers, and says when it cannot connect.
func TestRawClientReconnects(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := n.Add(1)
		if r.Header.Get("Authorization") != "Bearer tok" {
			http.Error(w, "no token", http.StatusUnauthorized)
			return
		}
		if i == 7 {
			conn, _, _ := http.NewResponseController(w).Hijack()
			conn.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"))
			conn.Close()
			return
		}
		if i%2 == 0 {
			w.Header().Set("Connection", "close")
		}
		body, _ := io.ReadAll(r.Body)
		w.WriteHeader(http.StatusAccepted)
		w.(http.Flusher).Flush() // chunked: no Content-Length
		fmt.Fprintf(w, "%s %s %d", r.Method, r.URL.Path, len(body))
	}))
	defer srv.Close()
	c, err := newBenchClient(benchOptions{client: "raw", concurrency: 2, timeout: 5 * time.Second}, srv.URL)
	require.NoError(t, err)
	defer c.close()
	failed := 0
	for i := range 20 {
		status, body, err := c.do(context.Background(), http.MethodPost, "/v1/berichten", "tok", []byte("<x/>"))
		if err != nil {
			failed++
			continue
		}
		require.Equal(t, http.StatusAccepted, status, "request %d", i)
		require.Equal(t, "POST /v1/berichten 4", string(body))
	}
	require.Equal(t, 1, failed, "only the broken answer fails")
	status, body, err := c.do(context.Background(), http.MethodDelete, "/v1/mailbox/x", "tok", nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusAccepted, status)
	require.Equal(t, "DELETE /v1/mailbox/x 0", string(body))

	srv.Close()
	_, _, err = c.do(context.Background(), http.MethodGet, "/v1/mailbox", "tok", nil)
	require.Error(t, err)
	_, err = newBenchClient(benchOptions{client: "raw", concurrency: 1}, "ftp://x")
	require.Error(t, err)
	_, err = newBenchClient(benchOptions{client: "curl", concurrency: 1}, srv.URL)
	require.Error(t, err)
}
