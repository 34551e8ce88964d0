package node

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/audit"
	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/sample"
	"github.com/knooppunt/knooppunt/store/pebble"
	"github.com/knooppunt/knooppunt/stuf"
)

// TestStUFFrontDoorAudited: a message received over SOAP is recorded in
// the audit trail like a POST (who, which message), and roles that do not
// send messages are refused there too, unrecorded.
func TestStUFFrontDoorAudited(t *testing.T) {
	n, err := Start(context.Background(), Config{
		Dev: true, Addr: "127.0.0.1:0",
		Store:  pebble.Config{Dir: t.TempDir()},
		StUF:   StUFConfig{Addr: "127.0.0.1:0"},
		Logger: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.ErrorLevel),
	})
	require.NoError(t, err)
	defer n.Close()

	s, _ := bericht.Lookup("WMO301")
	post := func(token, zender string) int {
		m, err := sample.New(time.Now().UnixNano()).Heen(s, sample.Options{Afzender: "0363", Ontvanger: "42420001"})
		require.NoError(t, err)
		el, err := (&stuf.Envelope{
			Berichtcode: "Di01", Zender: stuf.Party{Organisatie: zender, Applicatie: "Wmo app"},
			Ontvanger: stuf.Party{Organisatie: "42420001", Applicatie: "GGk"}, Referentienummer: stuf.NewUUID(),
			TijdstipBericht: stuf.Tijdstip(time.Now()), Functie: "WMO301", Payload: m.XML,
		}).Marshal()
		require.NoError(t, err)
		msg, err := stuf.Build(stuf.Addressing{Action: stuf.ActionDi01}, el, nil, time.Now())
		require.NoError(t, err)
		req, err := http.NewRequest(http.MethodPost, n.StUFURL(), bytes.NewReader(msg))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "text/xml; charset=utf-8")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		_, err = io.Copy(io.Discard, resp.Body)
		require.NoError(t, err)
		return resp.StatusCode
	}
	received := func() []audit.Entry {
		require.NoError(t, n.FlushAudit(context.Background()))
		es, _, err := n.Audit().Query(context.Background(), audit.Filter{Action: audit.Received})
		require.NoError(t, err)
		return es
	}

	require.Equal(t, http.StatusOK, post("dev-0363", "0363"))
	es := received()
	require.Len(t, es, 1)
	entries, err := n.Store().List(context.Background(), "42420001", 10)
	require.NoError(t, err)
	require.Len(t, entries, 1)
	assert.Equal(t, "0363", es[0].Principal)
	assert.Equal(t, entries[0].ID.String(), es[0].MessageID)

	for _, tok := range []string{"dev-operator", "dev-auditor", "dev-nza"} {
		assert.NotEqual(t, http.StatusOK, post(tok, tok[len("dev-"):]), tok)
	}
	assert.Len(t, received(), 1, "refusals are not recorded")
}
