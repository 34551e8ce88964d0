package bericht

import (
	"encoding/csv"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCatalogueMatchesModel checks the catalogue against the message list of
// the standard in ../shared, so a typo in a code or namespace cannot hide.
func TestCatalogueMatchesModel(t *testing.T) {
	f, err := os.Open("../../shared/istandaarden/model/messages_3.2.csv")
	if os.IsNotExist(err) {
		t.Skip("skipped: ../shared/istandaarden/model/messages_3.2.csv not present")
	}
	require.NoError(t, err)
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	col := map[string]int{}
	for i, name := range rows[0] {
		col[name] = i
	}
	require.Len(t, rows[1:], len(All()))
	for _, row := range rows[1:] {
		s, ok := Lookup(row[col["message"]])
		require.True(t, ok, row[col["message"]])
		require.Equal(t, row[col["berichtcode"]], s.Code, s.Name)
		require.Equal(t, row[col["namespace"]], s.Namespace, s.Name)
		require.Equal(t, row[col["basis_namespace"]], BasisNamespace(s.Standard, s.Release), s.Name)
		require.Equal(t, row[col["sender"]], string(s.Sender), s.Name)
		require.Equal(t, row[col["receiver"]], string(s.Receiver), s.Name)
		require.Equal(t, row[col["pair"]], s.Pair, s.Name)
		require.Equal(t, row[col["kind"]] == "retour", s.Retour, s.Name)
		wantAfzender := Gemeente
		if strings.Contains(row[col["header_Afzender_type"]], "Agb") {
			wantAfzender = Aanbieder
		}
		require.Equal(t, wantAfzender, s.HeaderAfzender(), s.Name)
		byNs, ok := ByNamespace(s.Namespace)
		require.True(t, ok)
		require.Equal(t, s, byNs)
	}
}

func TestPairsAreSymmetric(t *testing.T) {
	for _, s := range All() {
		p, ok := Lookup(s.Pair)
		require.True(t, ok, s.Name)
		require.Equal(t, s.Name, p.Pair, "pair of %s", s.Name)
		require.Equal(t, s.Sender, p.Receiver, s.Name)
		require.Equal(t, s.Standard, p.Standard)
	}
}

func TestLookupUnknown(t *testing.T) {
	_, ok := Lookup("WMO303")
	require.False(t, ok)
	_, ok = ByNamespace("http://www.istandaarden.nl/iwmo/3_1/wmo301/schema")
	require.False(t, ok)
	s, ok := Lookup("jw325")
	require.True(t, ok)
	require.True(t, s.Answers())
	require.False(t, s.Retour)
}

func TestHeaderSenderOfRetour(t *testing.T) {
	s, _ := Lookup("WMO302")
	h := Header{Soort: s, Afzender: "0384", Ontvanger: "42420001"}
	require.Equal(t, "42420001", h.Sender())
	require.Equal(t, "0384", h.Recipient())
	s, _ = Lookup("WMO301")
	h.Soort = s
	require.Equal(t, "0384", h.Sender())
}
