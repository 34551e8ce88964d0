package stuurinfo

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/sample"
)

// TestNZaSuppressesAmountsWithTheirCounts: every count from 1 to 4 is
// withheld, 0 and 5 and more are published, and an amount goes with the
// count it sums over: declared money with the 323s, rejected money with
// the withheld 323s or the rejecting 325s.
func TestNZaSuppressesAmountsWithTheirCounts(t *testing.T) {
	g := sample.New(17)
	f := newFeed(t)
	for i := range 6 {
		d := heen(t, g, "WMO323", sample.Options{Afzender: "12345678", Ontvanger: "0363", Products: 2})
		if i < 2 {
			f.put(d, SwitchMailbox, f.now, nil) // 2 withheld: suppressed with their amount
			continue
		}
		f.send(d, nil) // 4 delivered: suppressed with their amount
		f.send(answer(t, g, d, sample.AnswerOptions{Reject: "9307"}), d)
	}
	rows := f.a.NZa(Query{})
	require.Len(t, rows, 2)
	d, a := rows[0], rows[1]
	assert.Equal(t, "WMO323", d.Berichtsoort)
	assert.Nil(t, d.Berichten)
	assert.Nil(t, d.Gedeclareerd)
	assert.Nil(t, d.AfkeurTechnisch)
	assert.Nil(t, d.AfkeurTechnischBedrag)
	require.NotNil(t, d.Afkeur)
	assert.Zero(t, *d.Afkeur, "0 is published")
	assert.Equal(t, "WMO325", a.Berichtsoort)
	assert.Nil(t, a.Afkeur)
	assert.Nil(t, a.Afgewezen)

	for i := range 5 {
		d := heen(t, g, "WMO323", sample.Options{Afzender: "12345678", Ontvanger: "0363", Products: 2})
		if i < 3 {
			f.put(d, SwitchMailbox, f.now, nil)
			continue
		}
		f.send(d, nil)
		f.send(answer(t, g, d, sample.AnswerOptions{Reject: "9307"}), d)
	}
	rows = f.a.NZa(Query{})
	require.Len(t, rows, 2)
	d, a = rows[0], rows[1]
	require.NotNil(t, d.AfkeurTechnisch)
	assert.Equal(t, int64(5), *d.AfkeurTechnisch)
	require.NotNil(t, d.AfkeurTechnischBedrag)
	assert.NotZero(t, *d.AfkeurTechnischBedrag)
	require.NotNil(t, d.Gedeclareerd)
	require.NotNil(t, a.Afgewezen)
	assert.Equal(t, int64(6), *a.Afkeur)
	assert.Equal(t, int64(6), *a.AfkeurPrestaties)
}

// TestNZaFormats: the NZa export as JSON and as CSV says the same, a
// suppressed value an empty field; another format is refused.
func TestNZaFormats(t *testing.T) {
	h := testHandler(t)
	js := get(t, h, "nza", "/v1/stuurinfo/nza?van=2026-04-01&tot=2026-06-01&format=json")
	require.Equal(t, 200, js.Code, js.Body.String())
	assert.Equal(t, "application/json", js.Header().Get("Content-Type"))
	var rows []NZaRow
	require.NoError(t, json.Unmarshal(js.Body.Bytes(), &rows))
	cs := get(t, h, "nza", "/v1/stuurinfo/nza?van=2026-04-01&tot=2026-06-01&format=csv")
	require.Equal(t, 200, cs.Code, cs.Body.String())
	assert.Equal(t, "text/csv; charset=utf-8", cs.Header().Get("Content-Type"))
	var want bytes.Buffer
	require.NoError(t, WriteNZaCSV(&want, rows))
	assert.Equal(t, want.String(), cs.Body.String())
	recs, err := csv.NewReader(bytes.NewReader(cs.Body.Bytes())).ReadAll()
	require.NoError(t, err)
	require.Len(t, recs, len(rows)+1)
	assert.Equal(t, NZaCSVHeader, recs[0])
	require.NotNil(t, rows[0].Berichten)
	assert.Equal(t, []string{"2026-04", "0363", "WMO301", strconv.FormatInt(*rows[0].Berichten, 10)}, recs[1][:4])

	for _, url := range []string{"/v1/stuurinfo/nza?format=xml", "/v1/stuurinfo?format=xml", "/v1/stuurinfo/nza?format=CSV"} {
		w := get(t, h, "op", url)
		assert.Equal(t, 400, w.Code, url)
		assert.Contains(t, w.Body.String(), `"bad-format"`, url)
	}
}

// TestNZaCSVHeaderIsTheJSON: the CSV columns are the JSON fields, in
// order, so the two forms cannot drift apart.
func TestNZaCSVHeaderIsTheJSON(t *testing.T) {
	n := int64(7)
	b, err := json.Marshal(NZaRow{Berichten: &n})
	require.NoError(t, err)
	dec := json.NewDecoder(bytes.NewReader(b))
	var keys []string
	_, err = dec.Token()
	require.NoError(t, err)
	for dec.More() {
		k, err := dec.Token()
		require.NoError(t, err)
		keys = append(keys, k.(string))
		var v json.RawMessage
		require.NoError(t, dec.Decode(&v))
	}
	assert.Equal(t, NZaCSVHeader, keys)
	var buf bytes.Buffer
	require.NoError(t, WriteNZaCSV(&buf, []NZaRow{{Periode: "2026-05", Gemeente: "0363", Berichtsoort: "WMO301", Berichten: &n}}))
	assert.Equal(t, "periode,gemeente,berichtsoort,berichten,retourberichten,afkeur_technisch,afkeur_technisch_cent,"+
		"afkeur,afkeur_prestaties,afgewezen_cent,starts,stops,gedeclareerd_cent,doorlooptijd_gemeten,"+
		"doorlooptijd_binnen_norm,doorlooptijd_werkdagen_som\n2026-05,0363,WMO301,7,,,,,,,,,,,,\n", buf.String())
}
