package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/stuurinfo"
)

// savedAggregates writes aggregates holding seven 301s of gemeente 0363 in
// March 2026, one with two product lines of categorie 02, and returns the
// file.
func savedAggregates(t *testing.T) (*stuurinfo.Aggregates, string) {
	a := stuurinfo.NewAggregates(time.UTC)
	for i := range 6 {
		a.Record(&stuurinfo.Observation{Soort: "WMO301", Sender: "0363", Recipient: "12345678",
			Received: time.Date(2026, 3, 2+i, 9, 0, 0, 0, time.UTC)})
	}
	a.Record(&stuurinfo.Observation{Soort: "WMO301", Sender: "0363", Recipient: "12345678",
		Received: time.Date(2026, 3, 9, 9, 0, 0, 0, time.UTC),
		Body: []byte(`<Bericht><Header><Afzender>0363</Afzender><Ontvanger>12345678</Ontvanger></Header><Client>` +
			`<ToegewezenProduct><Product><Categorie>02</Categorie></Product></ToegewezenProduct>` +
			`<ToegewezenProduct><Product><Categorie>02</Categorie></Product></ToegewezenProduct></Client></Bericht>`)})
	file := filepath.Join(t.TempDir(), "stuurinfo.gob")
	require.NoError(t, a.SaveFile(file))
	return a, file
}

// TestStuurinfoExportFormats: --format applies to the NZa export as to
// the rows, both from a file and from a running switch, and says the same
// as the package's writers.
func TestStuurinfoExportFormats(t *testing.T) {
	a, file := savedAggregates(t)
	q := stuurinfo.Query{Van: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), Tot: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)}
	var nzaCSV, nzaJSON, catCSV bytes.Buffer
	require.NoError(t, stuurinfo.WriteNZaCSV(&nzaCSV, a.NZa(q)))
	require.NoError(t, stuurinfo.WriteNZaJSON(&nzaJSON, a.NZa(q)))
	q.Granularity = stuurinfo.Month
	require.NoError(t, stuurinfo.WriteCategoryCSV(&catCSV, a.CategoryRows(q)))
	require.Contains(t, catCSV.String(), "2026-03,2026-03-01,0363,12345678,02,2,0,0,0")

	srv := httptest.NewServer(stuurinfo.Handler(stuurinfo.HandlerConfig{Aggregates: a, Location: time.UTC,
		Authenticate: func(r *http.Request) (stuurinfo.Principal, bool) {
			return stuurinfo.Principal{ID: "beheer", Operator: true}, r.Header.Get("Authorization") == "Bearer op"
		}}))
	defer srv.Close()

	period := []string{"--van", "2026-03-01", "--tot", "2026-04-01"}
	for _, source := range [][]string{{"--file", file}, {"--url", srv.URL, "--token", "op"}} {
		for _, tt := range []struct {
			flags []string
			want  string
		}{
			{[]string{"--nza", "--format", "csv"}, nzaCSV.String()},
			{[]string{"--nza", "--format", "json"}, nzaJSON.String()},
			{[]string{"--nza"}, nzaJSON.String()},
			{[]string{"--per", "productcategorie", "--granularity", "maand"}, catCSV.String()},
		} {
			args := append(append(append([]string{"stuurinfo", "export"}, source...), period...), tt.flags...)
			var stdout, stderr bytes.Buffer
			require.Equal(t, 0, run(args, nil, &stdout, &stderr), "%v: %s", args, stderr.String())
			assert.Equal(t, tt.want, stdout.String(), "%v", args)
		}
		var stdout, stderr bytes.Buffer
		args := append(append([]string{"stuurinfo", "export", "--granularity", "maand"}, source...), period...)
		require.Equal(t, 0, run(args, nil, &stdout, &stderr), "%v: %s", args, stderr.String())
		recs, err := csv.NewReader(&stdout).ReadAll()
		require.NoError(t, err)
		assert.Equal(t, stuurinfo.CSVHeader, recs[0], "%v: rows default to CSV", source)
	}
	var rows []stuurinfo.NZaRow
	require.NoError(t, json.Unmarshal(nzaJSON.Bytes(), &rows))
	require.Len(t, rows, 1)
	assert.Equal(t, int64(7), *rows[0].Berichten)
}

// TestStuurinfoExportRefuses: an unknown format is a usage error, also
// for the NZa export; a missing or unreadable state file is an error, not
// an empty export.
func TestStuurinfoExportRefuses(t *testing.T) {
	_, file := savedAggregates(t)
	garbage := filepath.Join(t.TempDir(), "garbage.gob")
	require.NoError(t, os.WriteFile(garbage, []byte("not a snapshot"), 0o600))
	for _, tt := range []struct {
		args   []string
		stderr string
	}{
		{[]string{"--file", file, "--format", "xml"}, `format "xml"`},
		{[]string{"--file", file, "--nza", "--format", "xml"}, `format "xml"`},
		{[]string{"--file", filepath.Join(t.TempDir(), "nonexistent.gob")}, "no such file"},
		{[]string{"--file", filepath.Join(t.TempDir(), "nonexistent.gob"), "--nza"}, "no such file"},
		{[]string{"--file", garbage}, "unreadable snapshot"},
		{[]string{"--file", file, "--per", "aanbieder"}, "--per is berichtsoort or productcategorie"},
		{[]string{"--file", file, "--per", "productcategorie", "--nza"}, "not with --nza"},
	} {
		var stdout, stderr bytes.Buffer
		assert.Equal(t, 2, run(append([]string{"stuurinfo", "export"}, tt.args...), nil, &stdout, &stderr), "%v", tt.args)
		assert.Empty(t, stdout.String(), "%v: nothing written", tt.args)
		assert.Contains(t, stderr.String(), tt.stderr, "%v", tt.args)
	}
}
