package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/audit"
	"github.com/knooppunt/knooppunt/store"
)

func TestAuditVerify(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	l, err := audit.Open(audit.Config{Dir: data + ".audit"})
	require.NoError(t, err)
	for _, id := range []string{"m1", "m2", "m3"} {
		_, err := l.Append(context.Background(), audit.Entry{Principal: "0363", Action: audit.Fetched, MessageID: id})
		require.NoError(t, err)
	}
	_, head := l.Head()
	require.NoError(t, l.Close())

	var out, errb bytes.Buffer
	require.Equal(t, 0, run([]string{"audit", "verify", "--data", data}, nil, &out, &errb), errb.String())
	assert.Contains(t, out.String(), "3 entries")
	assert.Contains(t, out.String(), head)

	path := filepath.Join(data+".audit", audit.FileName)
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, bytes.Replace(raw, []byte(`"m2"`), []byte(`"m9"`), 1), 0o600))
	out.Reset()
	assert.Equal(t, 1, run([]string{"audit", "verify", "--audit", data + ".audit"}, nil, &out, &errb))
	assert.Contains(t, out.String(), "TAMPERED")

	assert.Equal(t, 2, run([]string{"audit"}, nil, &out, &errb), "usage")
	assert.Equal(t, 2, run([]string{"audit", "verify", "--data", filepath.Join(t.TempDir(), "none")}, nil, &out, &errb), "no trail")
}

func TestKeysRotateAndReseal(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	var out, errb bytes.Buffer
	require.Equal(t, 0, run([]string{"keys", "rotate", "--data", data}, nil, &out, &errb), errb.String())
	keys, err := store.LoadKeyring(data + ".keys")
	require.NoError(t, err)
	first := keys.Active()
	assert.Contains(t, out.String(), first)

	ctx := context.Background()
	s, err := store.Open(ctx, store.Config{Dir: data, Keys: keys})
	require.NoError(t, err)
	_, err = s.Put(ctx, &store.Message{Soort: "WMO315", Sender: "12345678", Recipient: "0363", Identificatie: "X", Body: []byte("<Bericht/>")})
	require.NoError(t, err)
	require.NoError(t, s.Close())

	out.Reset()
	require.Equal(t, 0, run([]string{"keys", "rotate", "--data", data}, nil, &out, &errb), errb.String())
	require.NoError(t, keys.Reload())
	assert.NotEqual(t, first, keys.Active())

	out.Reset()
	require.Equal(t, 0, run([]string{"keys", "reseal", "--data", data}, nil, &out, &errb), errb.String())
	assert.True(t, strings.HasPrefix(out.String(), "resealed 1 messages"), out.String())
	assert.Equal(t, 2, run([]string{"keys", "nonsense"}, nil, &out, &errb))
}
