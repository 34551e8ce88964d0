package node

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/routing"
	"github.com/knooppunt/knooppunt/sample"
	"github.com/knooppunt/knooppunt/store"
	"github.com/knooppunt/knooppunt/store/pebble"
	"github.com/knooppunt/knooppunt/xsd"
)

// aanleveringenRegistry writes the dev registry with check_aanleveringen
// on for the gemeenten codes, and returns its file.
func aanleveringenRegistry(t *testing.T, codes ...string) string {
	t.Helper()
	cfg := routing.DevConfig()
	for i := range cfg.Parties {
		for _, c := range codes {
			if cfg.Parties[i].Code == c {
				cfg.Parties[i].CheckAanleveringen = true
			}
		}
	}
	data, err := yaml.Marshal(cfg)
	require.NoError(t, err)
	// An empty releases map would mean "none active"; absent means all.
	data = regexp.MustCompile(`(?m)^\s*releases: \{\}\n`).ReplaceAll(data, nil)
	file := filepath.Join(t.TempDir(), "registry.yaml")
	require.NoError(t, os.WriteFile(file, data, 0o600))
	return file
}

// startOn starts an answering node on registry and the data directory dir;
// stop shuts it down.
func startOn(t *testing.T, registry, dir string) (a *answering, stop func()) {
	t.Helper()
	n, err := Start(context.Background(), Config{
		RegistryFile: registry, Addr: "127.0.0.1:0", AnswerRules: true,
		Store:  pebble.Config{Dir: dir, Policy: store.Policy{VisibilityTimeout: time.Second}},
		Logger: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.ErrorLevel),
	})
	require.NoError(t, err)
	client := &http.Client{Transport: &http.Transport{}}
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		client.CloseIdleConnections()
		require.NoError(t, n.Shutdown(context.Background()))
		require.NoError(t, n.Close())
	}
	t.Cleanup(stop)
	return &answering{t: t, url: n.URL(), client: client}, stop
}

var identificatie = regexp.MustCompile(`<iwmo:Identificatie>[^<]*</iwmo:Identificatie>`)

// renamed is msg under another Identificatie: a new message with the same
// lines.
func renamed(msg []byte, ident string) []byte {
	return identificatie.ReplaceAll(msg, []byte("<iwmo:Identificatie>"+ident+"</iwmo:Identificatie>"))
}

// withStatus is msg with every StatusAanlevering set to status.
func withStatus(msg []byte, status string) []byte {
	return regexp.MustCompile(`(<wmo30[57]:StatusAanlevering>)\d(</wmo30[57]:StatusAanlevering>)`).
		ReplaceAll(msg, []byte("${1}"+status+"${2}"))
}

// TestAanleveringenChecked posts, to a gemeente with check_aanleveringen,
// a WMO305 that delivers a line (delivered), the same line again in a new
// message (answered with a WMO306 carrying 9074 on that line, withheld),
// a removal of a line never delivered (9063), and the removal and new
// delivery of the first line (delivered); after a restart the ledger and
// its secret are the same. To a gemeente without the setting all of it is
// delivered.
func TestAanleveringenChecked(t *testing.T) {
	registry := aanleveringenRegistry(t, "0384")
	dir := filepath.Join(t.TempDir(), "data")
	a, stop := startOn(t, registry, dir)
	set, err := xsd.Load(xsd.Config{})
	require.NoError(t, err)
	defer set.Close()

	s305, _ := bericht.Lookup("WMO305")
	g := sample.New(40)
	first, err := g.Heen(s305, sample.Options{Products: 1, Afzender: "42420001", Ontvanger: "0384"})
	require.NoError(t, err)
	never, err := g.Heen(s305, sample.Options{Products: 1, Afzender: "42420001", Ontvanger: "0384"})
	require.NoError(t, err)

	stored := func(what string, msg []byte) string {
		t.Helper()
		r := a.post("42420001", msg)
		require.Equal(t, http.StatusAccepted, r.status, "%s: %s", what, r.body)
		require.Equal(t, "stored", r.field(t, "status"), "%s: %s", what, r.body)
		id := r.field(t, "id").(string)
		ids, _ := a.list("0384")
		assert.Contains(t, ids, id, "%s: delivered", what)
		return id
	}
	// answered checks the switch answered msg, breaking rule with code on
	// its one StartProduct, and did not deliver it.
	answered := func(what string, msg []byte, rule, code string) {
		t.Helper()
		r := a.post("42420001", msg)
		require.Equal(t, http.StatusAccepted, r.status, "%s: %s", what, r.body)
		require.Equal(t, "retour", r.field(t, "status"), "%s: %s", what, r.body)
		assert.Equal(t, []any{rule}, r.field(t, "rules"), what)
		assert.Equal(t, "WMO306", r.field(t, "retourBerichtsoort"), what)
		findings, _ := r.field(t, "findings").([]any)
		require.Len(t, findings, 1, what)
		f := findings[0].(map[string]any)
		assert.Equal(t, code, f["retourcode"], what)
		assert.Equal(t, "/Bericht/Client/StartProducten/StartProduct", f["path"], what)
		assert.Regexp(t, `^StartProduct \(line \d+\) has StatusAanlevering`, f["text"], what)
		heenID, retourID := r.field(t, "id").(string), r.field(t, "retour").(string)

		ids, _ := a.list("0384")
		assert.NotContains(t, ids, heenID, "%s: not delivered", what)
		ids, _ = a.list("42420001")
		require.Contains(t, ids, retourID, "%s: the retour goes to the aanbieder", what)
		body := a.do(http.MethodGet, "/v1/mailbox/"+retourID, "42420001", nil)
		require.Equal(t, http.StatusOK, body.status)
		h, tree, err := set.ValidateTree(body.body)
		require.NoError(t, err, "%s: the retour is valid: %s", what, body.body)
		assert.Equal(t, "WMO306", h.Soort.Name)
		line := tree.Child(0, "Client", "StartProducten", "StartProduct")
		require.GreaterOrEqual(t, line, 0, "%s: the retour returns the line", what)
		var codes []string
		for c := range tree.All(line, "RetourCode") {
			codes = append(codes, tree.Text(c))
		}
		assert.Equal(t, []string{code}, codes, "%s: the code on the line", what)
		require.Equal(t, http.StatusNoContent, a.do(http.MethodDelete, "/v1/mailbox/"+retourID, "42420001", nil).status)
	}

	stored("status 1", first.XML)
	answered("status 1 again in a new message", renamed(first.XML, "again1"), "TR074", "9074")
	answered("status 3 of a line never delivered", withStatus(never.XML, "3"), "TR063", "9063")

	r := a.post("42420001", first.XML)
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	assert.Equal(t, "duplicate", r.field(t, "status"), "an identical resend is a duplicate")

	secret, err := os.ReadFile(filepath.Join(dir, LedgerSecretFile))
	require.NoError(t, err)
	assert.Len(t, secret, MinLedgerSecret)
	fi, err := os.Stat(filepath.Join(dir, LedgerSecretFile))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	// After a restart: the same secret, the same ledger.
	stop()
	a, _ = startOn(t, registry, dir)
	again, err := os.ReadFile(filepath.Join(dir, LedgerSecretFile))
	require.NoError(t, err)
	assert.Equal(t, secret, again, "the secret is reused")
	answered("status 1 again after a restart", renamed(first.XML, "again2"), "TR074", "9074")
	stored("status 3 of the delivered line", withStatus(renamed(first.XML, "remove1"), "3"))
	answered("status 3 twice", withStatus(renamed(first.XML, "remove2"), "3"), "TR063", "9063")
	stored("status 1 after its removal", renamed(first.XML, "again3"))

	// A 307 that removes a StopProduct never delivered.
	s307, _ := bericht.Lookup("WMO307")
	stopMsg, err := g.Heen(s307, sample.Options{Products: 1, Afzender: "42420001", Ontvanger: "0384"})
	require.NoError(t, err)
	r = a.post("42420001", withStatus(stopMsg.XML, "3"))
	require.Equal(t, http.StatusAccepted, r.status, string(r.body))
	assert.Equal(t, "retour", r.field(t, "status"), string(r.body))
	assert.Equal(t, []any{"TR063"}, r.field(t, "rules"))
	assert.Equal(t, "WMO308", r.field(t, "retourBerichtsoort"))

	// The setting is per gemeente: 0363 has it off, and gets everything.
	other, err := g.Heen(s305, sample.Options{Products: 1, Afzender: "42420001", Ontvanger: "0363"})
	require.NoError(t, err)
	for i, msg := range [][]byte{other.XML, renamed(other.XML, "off1"), withStatus(renamed(other.XML, "off2"), "3"), withStatus(renamed(other.XML, "off3"), "3")} {
		r := a.post("42420001", msg)
		require.Equal(t, http.StatusAccepted, r.status, "%d: %s", i, r.body)
		assert.Equal(t, "stored", r.field(t, "status"), "%d: %s", i, r.body)
	}
	ids, _ := a.list("0363")
	assert.Len(t, ids, 4, "without the setting every message is delivered")
}

// TestAanleveringenOff: with the dev registry, where no gemeente has
// check_aanleveringen, a line delivered twice is delivered twice.
func TestAanleveringenOff(t *testing.T) {
	a := startAnswering(t, "")
	s, _ := bericht.Lookup("WMO305")
	m, err := sample.New(41).Heen(s, sample.Options{Products: 1, Afzender: "42420001", Ontvanger: "0384"})
	require.NoError(t, err)
	for _, msg := range [][]byte{m.XML, renamed(m.XML, "twice")} {
		r := a.post("42420001", msg)
		require.Equal(t, http.StatusAccepted, r.status, string(r.body))
		assert.Equal(t, "stored", r.field(t, "status"), string(r.body))
	}
}

// TestLedgerSecretChecks: a configured secret file must be private and
// long enough; a JetStream store with the check on needs one.
func TestLedgerSecretChecks(t *testing.T) {
	dir := t.TempDir()
	file := aanleveringenRegistry(t, "0384")
	reg, err := routing.Load(file)
	require.NoError(t, err)

	short := filepath.Join(dir, "short")
	require.NoError(t, os.WriteFile(short, []byte("too short"), 0o600))
	loose := filepath.Join(dir, "loose")
	require.NoError(t, os.WriteFile(loose, bytes.Repeat([]byte("k"), 40), 0o644))
	require.NoError(t, os.Chmod(loose, 0o644))
	good := filepath.Join(dir, "good")
	require.NoError(t, os.WriteFile(good, bytes.Repeat([]byte("k"), 40), 0o600))

	cfg := Config{Store: pebble.Config{Dir: filepath.Join(dir, "data")}}
	cfg.Security.LedgerSecretFile = short
	assert.ErrorContains(t, cfg.checkLedgerSecret(reg), "at least 32")
	cfg.Security.LedgerSecretFile = loose
	assert.ErrorContains(t, cfg.checkLedgerSecret(reg), "chmod 600")
	cfg.Security.LedgerSecretFile = filepath.Join(dir, "absent")
	assert.Error(t, cfg.checkLedgerSecret(reg))
	cfg.Security.LedgerSecretFile = good
	assert.NoError(t, cfg.checkLedgerSecret(reg))

	cfg = Config{StoreURL: "nats://127.0.0.1:4222", Store: pebble.Config{Dir: filepath.Join(dir, "data")}}
	err = cfg.checkLedgerSecret(reg)
	require.Error(t, err, "JetStream with the check on and no secret")
	assert.Contains(t, err.Error(), "--ledger-secret")
	assert.NoError(t, cfg.checkLedgerSecret(routing.DevRegistry()), "JetStream without the check needs none")
	cfg.Security.LedgerSecretFile = good
	assert.NoError(t, cfg.checkLedgerSecret(reg))

	_, err = Start(context.Background(), Config{RegistryFile: file, StoreURL: "nats://127.0.0.1:4222",
		Addr: "127.0.0.1:0", AnswerRules: true, Store: pebble.Config{Dir: filepath.Join(dir, "data")}})
	require.Error(t, err, "a start is refused")
	assert.Contains(t, err.Error(), "--ledger-secret")
}
