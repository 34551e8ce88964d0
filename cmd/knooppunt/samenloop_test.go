package main

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/samenloop"
	"github.com/knooppunt/knooppunt/stuurinfo"
)

func TestSamenloopImportCheck(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.csv")
	bad := filepath.Join(dir, "bad.csv")
	require.NoError(t, os.WriteFile(good, []byte(samenloop.RegisterHeader+"\n123456782,ja,2026-01-02,2026-02-01,\n"), 0o600))
	require.NoError(t, os.WriteFile(bad, []byte(samenloop.RegisterHeader+"\n123456782,ja,2026-01-02,2026-02-01,\n111222333,ja,x,2026-02-01,\n123456782,nee,2026-01-02,2026-02-01,\n"), 0o600))
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr []string
	}{
		{"good file checks", []string{"import", "--check", good}, 0, "1 persons, good", nil},
		{"bad file refused with every line", []string{"import", "--check", bad}, 1, "", []string{"line 3:", "line 4:", "refused whole"}},
		{"bad file refused before any call", []string{"import", "--url", "http://127.0.0.1:1", bad}, 1, "", []string{"line 3:"}},
		{"import needs a url", []string{"import", good}, 2, "", []string{"--url"}},
		{"missing file", []string{"import", "--check", filepath.Join(dir, "none.csv")}, 2, "", nil},
		{"run needs a url", []string{"run"}, 2, "", []string{"Usage"}},
		{"no subcommand", nil, 2, "", []string{"Usage"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(append([]string{"samenloop"}, tt.args...), nil, &stdout, &stderr)
			assert.Equal(t, tt.code, code, stderr.String())
			assert.Contains(t, stdout.String(), tt.stdout)
			for _, s := range tt.stderr {
				assert.Contains(t, stderr.String(), s)
			}
			assert.NotContains(t, stderr.String(), "111222333", "no BSN in messages")
		})
	}
}

func TestStuurinfoExport(t *testing.T) {
	a := stuurinfo.NewAggregates(time.UTC)
	for i := 0; i < 6; i++ {
		a.Record(&stuurinfo.Observation{Soort: "WMO301", Sender: "0363", Recipient: "12345678", Received: time.Date(2026, 3, 2+i, 9, 0, 0, 0, time.UTC)})
	}
	file := filepath.Join(t.TempDir(), "stuurinfo.gob")
	require.NoError(t, a.SaveFile(file))

	var stdout, stderr bytes.Buffer
	code := run([]string{"stuurinfo", "export", "--file", file, "--format", "csv", "--granularity", "maand", "--van", "2026-03-01", "--tot", "2026-04-01"}, nil, &stdout, &stderr)
	require.Equal(t, 0, code, stderr.String())
	recs, err := csv.NewReader(&stdout).ReadAll()
	require.NoError(t, err)
	require.Len(t, recs, 2)
	assert.Equal(t, []string{"2026-03", "2026-03-01", "0363", "12345678", "WMO301", "6"}, recs[1][:6])

	stdout.Reset()
	code = run([]string{"stuurinfo", "export", "--file", file, "--nza", "--van", "2026-03-01", "--tot", "2026-04-01"}, nil, &stdout, &stderr)
	require.Equal(t, 0, code, stderr.String())
	assert.Contains(t, stdout.String(), `"berichten":6`)
	assert.NotContains(t, stdout.String(), "12345678")

	stdout.Reset()
	code = run([]string{"stuurinfo", "export", "--file", file, "--format", "json", "--granularity", "week", "--van", "2026-03-02", "--tot", "2026-03-03"}, nil, &stdout, &stderr)
	require.Equal(t, 0, code, stderr.String())
	assert.True(t, strings.HasPrefix(stdout.String(), "["))
	assert.Contains(t, stdout.String(), `"periode":"2026-W10"`)
	assert.Contains(t, stdout.String(), `"berichten":6`, "2 to 7 March in the week of Monday 2 March")

	for _, args := range [][]string{{"stuurinfo"}, {"stuurinfo", "export", "--format", "xml"}, {"stuurinfo", "export", "--van", "maart"}} {
		assert.Equal(t, 2, run(args, nil, &stdout, &stderr), "%v", args)
	}
}
