package deploy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/node"
	"github.com/knooppunt/knooppunt/sample"
	"github.com/knooppunt/knooppunt/store/jetstream/natstest"
	"github.com/knooppunt/knooppunt/store/pebble"
)

// testNode is a dev node with TLS on its API (so that what is exported
// only with a server certificate is exported) and a plain-HTTP admin
// listener, as in the image.
type testNode struct {
	url, adminAddr string
	client         *http.Client
}

// startNode starts a node on Pebble, or on a JetStream stream when
// storeURL is a nats:// URL.
func startNode(t *testing.T, storeURL string) *testNode {
	t.Helper()
	dir := t.TempDir()
	caFile, certFile, keyFile, pool := writeTLS(t, dir)
	n, err := node.Start(context.Background(), node.Config{
		Dev: true, Addr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0",
		TLSCertFile: certFile, TLSKeyFile: keyFile, ClientCAFile: caFile,
		Store: pebble.Config{Dir: filepath.Join(dir, "data")}, StoreURL: storeURL,
		Logger: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel),
	})
	require.NoError(t, err)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	t.Cleanup(func() {
		client.CloseIdleConnections()
		require.NoError(t, n.Shutdown(context.Background()))
	})
	// The admin listener is bound by the serving goroutine: wait for it.
	deadline := time.Now().Add(10 * time.Second)
	admin := n.AdminAddr()
	for admin == "" {
		require.True(t, time.Now().Before(deadline), "the admin listener did not come up")
		time.Sleep(10 * time.Millisecond)
		admin = n.AdminAddr()
	}
	return &testNode{url: n.URL(), adminAddr: admin, client: client}
}

// writeTLS writes a throwaway CA and a server certificate for 127.0.0.1
// signed by it, and returns the files and a pool that trusts the CA.
func writeTLS(t *testing.T, dir string) (caFile, certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "deploy test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	ca, err := x509.ParseCertificate(caDER)
	require.NoError(t, err)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	require.NoError(t, err)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	caFile, certFile, keyFile = filepath.Join(dir, "ca.crt"), filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key")
	require.NoError(t, os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600))
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600))
	pool = x509.NewCertPool()
	pool.AddCert(ca)
	return caFile, certFile, keyFile, pool
}

// notExportedYet lists the metrics the rules or the dashboard use that no
// node exports yet, each with what is missing. An entry that a node
// exports fails the test, so the list only shrinks.
var notExportedYet = map[string]string{}

// prometheusOwn are series Prometheus makes itself for every target.
var prometheusOwn = map[string]bool{"up": true}

// scrapedNames are the series names on /metrics.
func scrapedNames(t *testing.T, body []byte) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name := line[:strings.IndexAny(line, "{ ")]
		names[name] = true
	}
	require.NoError(t, sc.Err())
	return names
}

// usedMetrics are the metric names in the alert rules and the dashboard,
// each with where it is used.
func usedMetrics(t *testing.T) map[string][]string {
	t.Helper()
	used := map[string][]string{}
	for _, r := range loadRules(t).allRules() {
		for _, m := range metricName.FindAllString(r.Expr, -1) {
			used[m] = append(used[m], "alert "+r.Alert)
		}
	}
	for _, p := range loadDashboard(t).Panels {
		for _, tg := range p.Targets {
			for _, m := range metricName.FindAllString(tg.Expr, -1) {
				used[m] = append(used[m], "panel "+p.Title)
			}
		}
	}
	return used
}

// TestMetricsExported scrapes running nodes, one on each store, after each
// stored a message, and requires every metric the alert rules and the
// dashboard name from one of them, so that no rule watches, and no panel
// draws, a series that never comes.
func TestMetricsExported(t *testing.T) {
	scraped := scrape(t, startNode(t, ""))
	for name := range scrape(t, startNode(t, natstest.Start(t).ClientURL()+"?replicas=1")) {
		scraped[name] = true
	}
	used := usedMetrics(t)
	require.NotEmpty(t, used)
	var names []string
	for name := range used {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		switch {
		case prometheusOwn[name]:
		case notExportedYet[name] != "":
			assert.False(t, scraped[name], "%s is exported now: take it off notExportedYet", name)
			t.Logf("not exported yet: %s (%s), used by %s", name, notExportedYet[name], strings.Join(used[name], ", "))
		default:
			assert.True(t, scraped[name], "%s is used by %s but no node exports it", name, strings.Join(used[name], ", "))
		}
	}
}

// scrape posts a message to n and returns the series names on its
// /metrics.
func scrape(t *testing.T, n *testNode) map[string]bool {
	s, _ := bericht.Lookup("WMO301")
	m, err := sample.New(7).Heen(s, sample.Options{Afzender: "0384", Ontvanger: "42420001"})
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, n.url+"/v1/berichten", bytes.NewReader(m.XML))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer dev-0384")
	req.Header.Set("Content-Type", "application/xml")
	resp, err := n.client.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusAccepted, resp.StatusCode)

	resp, err = http.Get("http://" + n.adminAddr + "/metrics")
	require.NoError(t, err)
	var body bytes.Buffer
	_, err = body.ReadFrom(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	return scrapedNames(t, body.Bytes())
}

// dashboard is the part of a Grafana dashboard the tests read.
type dashboard struct {
	UID        string `json:"uid"`
	Title      string `json:"title"`
	Templating struct {
		List []struct {
			Name    string `json:"name"`
			Type    string `json:"type"`
			Query   any    `json:"query"`
			Current struct {
				Value any `json:"value"`
			} `json:"current"`
		} `json:"list"`
	} `json:"templating"`
	Panels []struct {
		ID         int    `json:"id"`
		Type       string `json:"type"`
		Title      string `json:"title"`
		Datasource struct {
			UID string `json:"uid"`
		} `json:"datasource"`
		GridPos struct{ X, Y, W, H int } `json:"gridPos"`
		Targets []struct {
			RefID      string `json:"refId"`
			Expr       string `json:"expr"`
			Datasource struct {
				UID string `json:"uid"`
			} `json:"datasource"`
		} `json:"targets"`
	} `json:"panels"`
}

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	var d dashboard
	dec := json.NewDecoder(strings.NewReader(readFile(t, "grafana/knooppunt.json")))
	require.NoError(t, dec.Decode(&d))
	return d
}
