package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/node"
	"github.com/knooppunt/knooppunt/sample"
	"github.com/knooppunt/knooppunt/store"
	"github.com/knooppunt/knooppunt/store/pebble"
)

// TestQuarantineCommand: an operator lists the quarantine of a running
// switch and releases a message back into its mailbox; a release of what
// is not quarantined, and a caller that is not an operator, are refused.
func TestQuarantineCommand(t *testing.T) {
	ctx := context.Background()
	n, err := node.Start(ctx, node.Config{Dev: true, Addr: "127.0.0.1:0", Store: pebble.Config{Dir: t.TempDir()}})
	require.NoError(t, err)
	defer n.Close()
	s, _ := bericht.Lookup("WMO301")
	m, err := sample.New(3).Heen(s, sample.Options{Afzender: "0384", Ontvanger: "42420001"})
	require.NoError(t, err)
	code, body, err := haDo(ctx, http.DefaultClient, http.MethodPost, n.URL()+"/v1/berichten", "0384", m.XML)
	require.NoError(t, err)
	require.Equal(t, http.StatusAccepted, code, string(body))
	var posted struct{ ID string }
	require.NoError(t, json.Unmarshal(body, &posted))
	id, err := store.ParseID(posted.ID)
	require.NoError(t, err)
	q, ok := n.Store().(interface {
		Quarantine(ctx context.Context, party string, id store.ID, reason string) error
	})
	require.True(t, ok)
	require.NoError(t, q.Quarantine(ctx, "42420001", id, "refused"))

	quarantine := func(args ...string) (int, string, string) {
		var out, errs bytes.Buffer
		code := run(append([]string{"quarantine"}, args...), strings.NewReader(""), &out, &errs)
		return code, out.String(), errs.String()
	}
	code, out, errs := quarantine("list", "--url", n.URL(), "--token", "dev-operator")
	require.Equal(t, 0, code, errs)
	assert.Contains(t, out, posted.ID)
	assert.Contains(t, out, "42420001")
	code, _, errs = quarantine("list", "--url", n.URL(), "--token", "dev-42420001")
	assert.Equal(t, 1, code)
	assert.Contains(t, errs, "403")

	code, out, errs = quarantine("release", "--url", n.URL(), "--token", "dev-operator", posted.ID)
	require.Equal(t, 0, code, errs)
	assert.Contains(t, out, "released "+posted.ID)
	code, out, _ = quarantine("list", "--url", n.URL(), "--token", "dev-operator")
	require.Equal(t, 0, code)
	assert.NotContains(t, out, posted.ID)
	code, _, _ = quarantine("release", "--url", n.URL(), "--token", "dev-operator", posted.ID)
	assert.Equal(t, 1, code, "not quarantined any more")
	code, _, _ = quarantine("list")
	assert.Equal(t, 2, code, "no --url")
}
