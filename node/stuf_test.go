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

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/sample"
	"github.com/knooppunt/knooppunt/store"
	"github.com/knooppunt/knooppunt/stuf"
)

// TestStUFFrontDoor: a Di01 posted to the node's SOAP endpoint goes through
// the same pipeline as the REST API — validated, routed by the registry and
// stored in the recipient's mailbox — and a refusal of that pipeline comes
// back as a Fo03 with the chain's code.
func TestStUFFrontDoor(t *testing.T) {
	n, err := Start(context.Background(), Config{
		Dev: true, Addr: "127.0.0.1:0",
		Store:  store.Config{Dir: t.TempDir()},
		StUF:   StUFConfig{Addr: "127.0.0.1:0"},
		Logger: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel),
	})
	require.NoError(t, err)
	defer n.Close()
	require.NotEmpty(t, n.StUFURL())

	s, _ := bericht.Lookup("WMO301")
	post := func(afzender, ontvanger string) (int, []byte) {
		m, err := sample.New(time.Now().UnixNano()).Heen(s, sample.Options{Afzender: afzender, Ontvanger: ontvanger})
		require.NoError(t, err)
		el, err := (&stuf.Envelope{
			Berichtcode: "Di01", Zender: stuf.Party{Organisatie: "0363", Applicatie: "Wmo app"},
			Ontvanger: stuf.Party{Organisatie: ontvanger, Applicatie: "GGk"}, Referentienummer: stuf.NewUUID(),
			TijdstipBericht: stuf.Tijdstip(time.Now()), Functie: "WMO301", Payload: m.XML,
		}).Marshal()
		require.NoError(t, err)
		msg, err := stuf.Build(stuf.Addressing{Action: stuf.ActionDi01}, el, nil, time.Now())
		require.NoError(t, err)
		req, err := http.NewRequest(http.MethodPost, n.StUFURL(), bytes.NewReader(msg))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "text/xml; charset=utf-8")
		req.Header.Set("Authorization", "Bearer dev-0363")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, b
	}

	status, body := post("0363", "42420001")
	require.Equal(t, http.StatusOK, status, "%s", body)
	fault, err := stuf.ReadAnswer(body)
	require.NoError(t, err)
	require.Nil(t, fault)
	entries, err := n.Store().List(context.Background(), "42420001", 10)
	require.NoError(t, err)
	require.Len(t, entries, 1, "stored in the recipient's mailbox")
	assert.Equal(t, "WMO301", entries[0].Soort)

	status, body = post("0363", "99999999") // no such aanbieder in the registry
	require.Equal(t, http.StatusInternalServerError, status)
	fault, err = stuf.ReadAnswer(body)
	require.NoError(t, err)
	require.NotNil(t, fault)
	assert.Equal(t, stuf.CodeUnknownRecipient, fault.Code)

	require.NoError(t, n.Shutdown(context.Background()))
	_, err = http.Post(n.StUFURL(), "text/xml", nil)
	require.Error(t, err, "nothing listens after shutdown")
}
