package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/audit"
	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/sample"
	"github.com/knooppunt/knooppunt/store"
	"github.com/knooppunt/knooppunt/store/jetstream/natstest"
	"github.com/knooppunt/knooppunt/store/pebble"
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
	assert.Contains(t, errb.String(), "MB of the trail checked (100%)", "progress on stderr")

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
	s, err := pebble.Open(ctx, pebble.Config{Dir: data, Keys: keys})
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

// TestAuditVerifyExpectStoreHead runs a switch, posts through it and stops
// it, then holds the trail to the head its store kept (Pebble in --data;
// JetStream under the node's name in the stream): the whole trail passes,
// the same trail cut off after two entries fails although its own chain
// is intact.
func TestAuditVerifyExpectStoreHead(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a switch process; skipped with -short")
	}
	for _, backend := range []string{"pebble", "jetstream"} {
		t.Run(backend, func(t *testing.T) {
			data := filepath.Join(t.TempDir(), "data")
			args := []string{"--data", data, "--insight=false"}
			verify := []string{"audit", "verify", "--data", data}
			if backend == "jetstream" {
				url := natstest.Start(t).ClientURL() + "?replicas=1"
				args = append(args, "--store", url)
				verify = append(verify, "--store", url)
			}
			node := startNodeProcess(t, args...)
			wmo301, _ := bericht.Lookup("WMO301")
			gen := sample.New(7)
			client := &http.Client{Timeout: 10 * time.Second}
			for range 4 {
				m, err := gen.Heen(wmo301, sample.Options{Afzender: "0384", Ontvanger: "42420001"})
				require.NoError(t, err)
				code, body, err := haDo(context.Background(), client, http.MethodPost, node.url+"/v1/berichten", "0384", m.XML)
				require.NoError(t, err)
				require.Equal(t, http.StatusAccepted, code, "%s", body)
			}
			require.NoError(t, node.cmd.Process.Signal(syscall.SIGTERM))
			require.NoError(t, node.cmd.Wait(), node.stderr.String())

			var out, errb bytes.Buffer
			expect := append(slices.Clone(verify), "--expect-head", "store")
			require.Equal(t, 0, run(expect, nil, &out, &errb), errb.String()+out.String())
			assert.Contains(t, out.String(), "runs through the expected head")

			path := filepath.Join(data+".audit", audit.FileName)
			raw, err := os.ReadFile(path)
			require.NoError(t, err)
			lines := bytes.SplitAfter(raw, []byte("\n"))
			require.Greater(t, len(lines), 3)
			require.NoError(t, os.WriteFile(path, bytes.Join(lines[:2], nil), 0o600))
			out.Reset()
			require.Equal(t, 0, run(verify, nil, &out, &errb), "the cut trail is a chain of its own")
			out.Reset()
			assert.Equal(t, 1, run(expect, nil, &out, &errb))
			assert.Contains(t, out.String(), "cut off")

			assert.Equal(t, 2, run(append(slices.Clone(verify), "--expect-head", "12:xyz"), nil, &out, &errb), "a malformed head")
		})
	}
}
