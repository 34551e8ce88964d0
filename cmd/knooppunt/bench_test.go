package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

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
	for _, mode := range []string{"http", "validate", "store"} {
		t.Run(mode, func(t *testing.T) {
			var out, errOut bytes.Buffer
			args := []string{"--mode", mode, "--n", "40", "--concurrency", "4", "--json", "--data", filepath.Join(t.TempDir(), "store")}
			if mode == "http" {
				args = append(args, "--consume")
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
