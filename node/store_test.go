package node

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/gateway"
	"github.com/knooppunt/knooppunt/sample"
	"github.com/knooppunt/knooppunt/store"
	"github.com/knooppunt/knooppunt/store/jetstream"
	"github.com/knooppunt/knooppunt/store/jetstream/natstest"
	"github.com/knooppunt/knooppunt/store/pebble"
)

// TestJetStreamNode runs a dev node on an embedded NATS server: a posted
// message is in its recipient's mailbox after the node restarted (the
// node keeps no message state of its own), is fetched byte for byte,
// confirmed, and then gone.
func TestJetStreamNode(t *testing.T) {
	srv := natstest.Start(t)
	cfg := Config{
		Dev: true, Addr: "127.0.0.1:0",
		StoreURL: srv.ClientURL() + "?replicas=1",
		Store:    pebble.Config{Dir: t.TempDir()}, // the audit trail only
		Logger:   zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel),
	}
	start := func() *Node {
		n, err := Start(context.Background(), cfg)
		require.NoError(t, err)
		t.Cleanup(func() { n.Close() })
		return n
	}

	s, ok := bericht.Lookup("WMO301")
	require.True(t, ok)
	m, err := sample.New(9).Heen(s, sample.Options{})
	require.NoError(t, err)
	sender, recipient := "dev-"+m.Header.Afzender, "dev-"+m.Header.Ontvanger

	n := start()
	code, body := call(t, http.MethodPost, n.URL()+"/v1/berichten", sender, "application/xml", string(m.XML))
	require.Equal(t, http.StatusAccepted, code, string(body))
	var posted struct{ ID string }
	require.NoError(t, json.Unmarshal(body, &posted))
	require.NotEmpty(t, posted.ID)
	code, body = call(t, http.MethodPost, n.URL()+"/v1/berichten", sender, "application/xml", string(m.XML))
	require.Equal(t, http.StatusOK, code, "a resend is a duplicate: %s", body)
	require.NoError(t, n.Shutdown(context.Background()))

	n = start()
	code, body = call(t, http.MethodGet, n.URL()+"/v1/mailbox?limit=10", recipient, "", "")
	require.Equal(t, http.StatusOK, code, string(body))
	var list struct{ Berichten []struct{ ID string } }
	require.NoError(t, json.Unmarshal(body, &list))
	require.Len(t, list.Berichten, 1)
	assert.Equal(t, posted.ID, list.Berichten[0].ID)

	code, body = call(t, http.MethodGet, n.URL()+"/v1/mailbox/"+posted.ID, recipient, "", "")
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, m.XML, body, "the message is delivered exactly as posted")
	code, _ = call(t, http.MethodDelete, n.URL()+"/v1/mailbox/"+posted.ID, recipient, "", "")
	require.Equal(t, http.StatusNoContent, code)
	assert.Zero(t, n.Store().Stats().Pending, "confirmed")

	code, body = call(t, http.MethodGet, n.URL()+"/v1/berichten/"+posted.ID, sender, "", "")
	require.Equal(t, http.StatusOK, code, string(body))
	require.NoError(t, n.Shutdown(context.Background()))
}

// TestBackendRefusals: a configuration that needs what the JetStream store
// lacks is refused at start, naming the missing capability.
func TestBackendRefusals(t *testing.T) {
	js := "nats://127.0.0.1:4222?replicas=1"
	for _, tc := range []struct {
		name string
		cfg  Config
		want string // "" means accepted
	}{
		{"pebble default", Config{Store: pebble.Config{Dir: "d"}}, ""},
		{"dev plaintext", Config{Dev: true, StoreURL: js}, ""},
		{"explicit plaintext", Config{StoreURL: js, Security: SecurityConfig{Plaintext: true}}, ""},
		{"cluster", Config{Dev: true, StoreURL: "nats://a:4222,nats://b:4222,nats://c:4222"}, ""},
		{"encryption at rest", Config{StoreURL: js}, ""},
		{"key file in dev", Config{Dev: true, StoreURL: js, Security: SecurityConfig{KeyFile: "k"}}, ""},
		{"StUF endpoint", Config{Dev: true, StoreURL: js, StUF: StUFConfig{Addr: "127.0.0.1:0"}}, ""},
		{"push delivery", Config{Dev: true, StoreURL: js, StUF: StUFConfig{Push: true}}, ""},
		{"not nats", Config{Dev: true, StoreURL: "http://a:4222"}, "not a nats://"},
		{"no host", Config{Dev: true, StoreURL: "nats://"}, "not a nats://"},
		{"bad replicas", Config{Dev: true, StoreURL: "nats://a:1?replicas=x"}, "replicas"},
		{"replicas out of range", Config{Dev: true, StoreURL: "nats://a:1?replicas=9"}, "Replicas"},
		{"unknown parameter", Config{Dev: true, StoreURL: "nats://a:1?sync=never"}, "unknown parameter"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.checkBackend()
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// TestJetStreamStartRefused: the refusal comes before anything is opened.
func TestJetStreamStartRefused(t *testing.T) {
	_, err := Start(context.Background(), Config{Dev: true, Addr: "127.0.0.1:0",
		StoreURL: "nats://127.0.0.1:1?replicas=x", Store: pebble.Config{Dir: t.TempDir()}})
	require.ErrorContains(t, err, "replicas")
}

// BenchmarkPostBackend posts WMO301s one after another over HTTP to a dev
// node on either backend: Pebble in a directory, JetStream on an embedded
// single server (R1, sync_interval: always). Each POST waits for its
// synced write, so this is the latency-bound single-client rate.
func BenchmarkPostBackend(b *testing.B) {
	for _, backend := range []string{"pebble", "jetstream"} {
		b.Run(backend, func(b *testing.B) {
			cfg := Config{Dev: true, Addr: "127.0.0.1:0", Store: pebble.Config{Dir: b.TempDir()},
				Security: SecurityConfig{Limits: gateway.Limits{Rate: -1, Concurrent: -1}}, Logger: zerolog.Nop()}
			if backend == "jetstream" {
				cfg.StoreURL = natstest.Start(b).ClientURL() + "?replicas=1"
			}
			n, err := Start(context.Background(), cfg)
			require.NoError(b, err)
			b.Cleanup(func() { n.Close() })
			s, _ := bericht.Lookup("WMO301")
			g := sample.New(31)
			client := &http.Client{Transport: &http.Transport{}}
			defer client.CloseIdleConnections()
			for b.Loop() {
				m, err := g.Heen(s, sample.Options{Afzender: "0384", Ontvanger: "42420001"})
				require.NoError(b, err)
				req, _ := http.NewRequest(http.MethodPost, n.URL()+"/v1/berichten", bytes.NewReader(m.XML))
				req.Header.Set("Authorization", "Bearer dev-0384")
				req.Header.Set("Content-Type", "application/xml")
				resp, err := client.Do(req)
				require.NoError(b, err)
				resp.Body.Close()
				require.Equal(b, http.StatusAccepted, resp.StatusCode)
			}
		})
	}
}

// TestJetStreamNodeSeals: with a key file the node seals the bodies it
// publishes; it serves them back byte for byte, a client of the cluster
// without the key reads them as sealed.
func TestJetStreamNodeSeals(t *testing.T) {
	srv := natstest.Start(t)
	url := srv.ClientURL() + "?replicas=1"
	keyFile := t.TempDir() + "/data.keys"
	_, err := store.AddKey(keyFile, time.Now())
	require.NoError(t, err)
	n, err := Start(context.Background(), Config{Dev: true, Addr: "127.0.0.1:0", StoreURL: url,
		Store:    pebble.Config{Dir: t.TempDir() + "/data"},
		Security: SecurityConfig{KeyFile: keyFile},
		Logger:   zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)})
	require.NoError(t, err)
	t.Cleanup(func() { n.Close() })
	s, ok := bericht.Lookup("WMO301")
	require.True(t, ok)
	m, err := sample.New(12).Heen(s, sample.Options{})
	require.NoError(t, err)
	code, body := call(t, http.MethodPost, n.URL()+"/v1/berichten", "dev-"+m.Header.Afzender, "application/xml", string(m.XML))
	require.Equal(t, http.StatusAccepted, code, string(body))
	var posted struct{ ID string }
	require.NoError(t, json.Unmarshal(body, &posted))
	code, body = call(t, http.MethodGet, n.URL()+"/v1/mailbox/"+posted.ID, "dev-"+m.Header.Ontvanger, "", "")
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, m.XML, body)

	keyless, err := jetstream.Open(context.Background(), jetstream.Config{URL: srv.ClientURL(), Replicas: 1})
	require.NoError(t, err)
	defer keyless.Close()
	id, err := store.ParseID(posted.ID)
	require.NoError(t, err)
	_, err = keyless.Get(context.Background(), m.Header.Ontvanger, id)
	assert.ErrorIs(t, err, store.ErrSealed)
}

// TestJetStreamMutualTLS: a node reaches servers that require TLS and a
// client certificate through the store URL's ca, cert and key; without its
// certificate it does not start. Missing files and a cert without its key
// are refused before anything is opened.
func TestJetStreamMutualTLS(t *testing.T) {
	srv, files := natstest.StartTLS(t)
	base := fmt.Sprintf("tls://127.0.0.1:%d?replicas=1&ca=%s", srv.Addr().(*net.TCPAddr).Port, files.CA)
	cfg := func(url string) Config {
		return Config{Dev: true, Addr: "127.0.0.1:0", StoreURL: url, Store: pebble.Config{Dir: t.TempDir() + "/data"},
			Logger: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.ErrorLevel)}
	}
	n, err := Start(context.Background(), cfg(base+"&cert="+files.ClientCert+"&key="+files.ClientKey))
	require.NoError(t, err)
	s, ok := bericht.Lookup("WMO301")
	require.True(t, ok)
	m, err := sample.New(13).Heen(s, sample.Options{})
	require.NoError(t, err)
	code, body := call(t, http.MethodPost, n.URL()+"/v1/berichten", "dev-"+m.Header.Afzender, "application/xml", string(m.XML))
	assert.Equal(t, http.StatusAccepted, code, string(body))
	require.NoError(t, n.Close())

	_, err = Start(context.Background(), cfg(base))
	assert.Error(t, err, "the servers refuse a node without a client certificate")

	for _, bad := range []struct{ url, want string }{
		{base + "&cert=" + files.ClientCert, "cert and key go together"},
		{base + "&cert=/nonexistent.pem&key=" + files.ClientKey, "cert"},
		{"tls://127.0.0.1:1?ca=/nonexistent.pem", "ca"},
		{"nats://127.0.0.1:1?creds=/nonexistent.creds", "creds"},
	} {
		_, err := jetstream.ParseURL(bad.url)
		assert.ErrorContains(t, err, bad.want, bad.url)
	}
}

// TestNodeName: a node on a shared store goes by a name that is one
// subject token, the same across its restarts, and another for a node on
// the same host with its trail elsewhere.
func TestNodeName(t *testing.T) {
	a, b := NodeName("/srv/a.audit"), NodeName("/srv/b.audit")
	assert.Equal(t, a, NodeName("/srv/a.audit"))
	assert.NotEqual(t, a, b)
	for _, n := range []string{a, b} {
		_, err := jetstream.ParseURL("nats://x:1?node=" + n)
		assert.NoError(t, err, n)
	}
}
