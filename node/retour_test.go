package node

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
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
	"github.com/knooppunt/knooppunt/conformance"
	"github.com/knooppunt/knooppunt/routing"
	"github.com/knooppunt/knooppunt/sample"
	"github.com/knooppunt/knooppunt/store"
	"github.com/knooppunt/knooppunt/store/pebble"
	"github.com/knooppunt/knooppunt/xsd"
)

// answering is a node with AnswerRules, driven over HTTP with the tokens
// "dev-<code>".
type answering struct {
	t      testing.TB
	url    string
	client *http.Client
}

// startAnswering starts a node that answers level-2 breaches, on the dev
// registry or on registryFile.
func startAnswering(t testing.TB, registryFile string) *answering {
	t.Helper()
	n, err := Start(context.Background(), Config{
		Dev: registryFile == "", RegistryFile: registryFile, Addr: "127.0.0.1:0", AnswerRules: true,
		Store:  pebble.Config{Dir: t.TempDir(), Policy: store.Policy{VisibilityTimeout: time.Second}},
		Logger: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.ErrorLevel),
	})
	require.NoError(t, err)
	client := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(func() {
		client.CloseIdleConnections()
		require.NoError(t, n.Shutdown(context.Background()))
		require.NoError(t, n.Close())
	})
	return &answering{t: t, url: n.URL(), client: client}
}

type answer struct {
	status int
	body   []byte
}

func (r answer) field(t testing.TB, name string) any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.body, &m), string(r.body))
	return m[name]
}

func (a *answering) do(method, path, party string, body []byte) answer {
	a.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, a.url+path, rd)
	require.NoError(a.t, err)
	req.Header.Set("Authorization", "Bearer dev-"+party)
	if body != nil {
		req.Header.Set("Content-Type", "application/xml")
	}
	resp, err := a.client.Do(req)
	require.NoError(a.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(a.t, err)
	return answer{status: resp.StatusCode, body: b}
}

func (a *answering) post(party string, body []byte) answer {
	return a.do(http.MethodPost, "/v1/berichten", party, body)
}

// list polls party's mailbox and returns the ids and berichtsoorten.
func (a *answering) list(party string) (ids, soorten []string) {
	a.t.Helper()
	r := a.do(http.MethodGet, "/v1/mailbox?limit=50", party, nil)
	require.Equal(a.t, http.StatusOK, r.status, string(r.body))
	var l struct {
		Berichten []struct{ ID, Berichtsoort string }
	}
	require.NoError(a.t, json.Unmarshal(r.body, &l))
	for _, b := range l.Berichten {
		ids, soorten = append(ids, b.ID), append(soorten, b.Berichtsoort)
	}
	return ids, soorten
}

// TestSwitchAnswersRuleBreach posts heenberichten that pass the XSD but
// break CS002 (the BSN elfproef): the answer (a retour, or a 325 for a
// 323) lands in the sender's mailbox, valid against its XSD and linked to
// the heenbericht; the recipient receives nothing, and cannot answer it.
func TestSwitchAnswersRuleBreach(t *testing.T) {
	a := startAnswering(t, "")
	set, err := xsd.Load(xsd.Config{})
	require.NoError(t, err)
	defer set.Close()
	g := sample.New(21)
	for _, tc := range []struct{ name, afzender, ontvanger, poster string }{
		{"WMO301", "", "", ""},
		{"JW305", "", "", ""},
		{"WMO323", "", "", ""},
		{"JW315", "", "", ""},
		{"JW301", "0606", "42420001", "swv-demo-isd"}, // the samenwerkingsverband gets the answer for its gemeente
	} {
		t.Run(tc.name+tc.afzender, func(t *testing.T) {
			s, _ := bericht.Lookup(tc.name)
			m, err := g.Heen(s, sample.Options{Violate: "CS002", Afzender: tc.afzender, Ontvanger: tc.ontvanger})
			require.NoError(t, err)
			sender, recipient := m.Header.Afzender, m.Header.Ontvanger
			if tc.poster != "" {
				sender = tc.poster
			}

			r := a.post(sender, m.XML)
			require.Equal(t, http.StatusAccepted, r.status, string(r.body))
			assert.Equal(t, "retour", r.field(t, "status"))
			assert.Equal(t, s.Pair, r.field(t, "retourBerichtsoort"))
			assert.Equal(t, []any{"0001"}, r.field(t, "retourCodes"))
			assert.Contains(t, r.field(t, "rules"), "CS002")
			heenID, retourID := r.field(t, "id").(string), r.field(t, "retour").(string)

			ids, _ := a.list(recipient)
			assert.Empty(t, ids, "the heenbericht is not delivered")
			ids, soorten := a.list(sender)
			require.Equal(t, []string{retourID}, ids)
			assert.Equal(t, []string{s.Pair}, soorten)

			body := a.do(http.MethodGet, "/v1/mailbox/"+retourID, sender, nil)
			require.Equal(t, http.StatusOK, body.status)
			h, err := set.Validate(body.body)
			require.NoError(t, err, "%s", body.body)
			assert.Equal(t, s.Pair, h.Soort.Name)
			if s.Number == 323 {
				assert.Equal(t, m.Header.Identificatie, h.DeclaratieIdentificatie)
			} else {
				assert.Equal(t, m.Header.Identificatie, h.Identificatie)
				assert.NotEmpty(t, h.IdentificatieRetour)
			}
			require.Equal(t, http.StatusNoContent, a.do(http.MethodDelete, "/v1/mailbox/"+retourID, sender, nil).status)

			tr := a.do(http.MethodGet, "/v1/berichten/"+heenID, sender, nil)
			require.Equal(t, http.StatusOK, tr.status, string(tr.body))
			assert.Equal(t, retourID, tr.field(t, "retour"))
			assert.NotNil(t, tr.field(t, "retourAfterMs"))
			tr = a.do(http.MethodGet, "/v1/berichten/"+retourID, sender, nil)
			require.Equal(t, http.StatusOK, tr.status, string(tr.body))
			assert.Equal(t, heenID, tr.field(t, "heen"))

			if s.Number != 323 { // the recipient cannot answer what it never received
				ans, err := g.Answer(m, sample.AnswerOptions{})
				require.NoError(t, err)
				r = a.post(recipient, ans.XML)
				assert.Equal(t, http.StatusUnprocessableEntity, r.status, string(r.body))
				assert.Equal(t, string(routing.CodeRetourWithoutHeen), r.field(t, "code"))
			}

			r = a.post(sender, m.XML) // a resend: the same answer, nothing delivered
			require.Equal(t, http.StatusOK, r.status, string(r.body))
			assert.Equal(t, retourID, r.field(t, "retour"))
			ids, _ = a.list(recipient)
			assert.Empty(t, ids)
		})
	}
	t.Run("an invalid message is refused as before", func(t *testing.T) {
		s, _ := bericht.Lookup("WMO301")
		m, err := g.Heen(s, sample.Options{})
		require.NoError(t, err)
		bad := bytes.ReplaceAll(m.XML, []byte("wmo301:Client>"), []byte("wmo301:Klant>"))
		r := a.post(m.Header.Afzender, bad)
		assert.Equal(t, http.StatusUnprocessableEntity, r.status, string(r.body))
		assert.Equal(t, xsd.CodeInvalid, r.field(t, "code"))
	})
	t.Run("a valid message is delivered", func(t *testing.T) {
		s, _ := bericht.Lookup("WMO301")
		m, err := g.Heen(s, sample.Options{Products: 1})
		require.NoError(t, err)
		r := a.post(m.Header.Afzender, m.XML)
		require.Equal(t, http.StatusAccepted, r.status, string(r.body))
		assert.Equal(t, "stored", r.field(t, "status"))
		ids, _ := a.list(m.Header.Ontvanger)
		assert.Equal(t, []string{r.field(t, "id").(string)}, ids)
	})
}

// TestRecipientAnswersItself: with retour: recipient in the registry the
// switch delivers a message breaking CS002; the recipient's retour is
// linked to it, track & trace shows both and the time between them; a
// retour to no known heenbericht is refused with its own code.
func TestRecipientAnswersItself(t *testing.T) {
	file := filepath.Join(t.TempDir(), "registry.yaml")
	require.NoError(t, os.WriteFile(file, fmt.Appendf(nil, `tokens: true
parties:
  - code: "0384"
    role: gemeente
    name: Gemeente
    credentials: {token_sha256: [%q]}
  - code: "42420001"
    role: aanbieder
    name: Aanbieder
    retour: recipient
    credentials: {token_sha256: [%q]}
`, routing.TokenDigest("dev-0384"), routing.TokenDigest("dev-42420001")), 0o600))
	a := startAnswering(t, file)

	g := sample.New(22)
	s, _ := bericht.Lookup("WMO301")
	m, err := g.Heen(s, sample.Options{Violate: "CS002", Afzender: "0384", Ontvanger: "42420001"})
	require.NoError(t, err)
	r := a.post("0384", m.XML)
	require.Equal(t, http.StatusAccepted, r.status, string(r.body))
	assert.Equal(t, "stored", r.field(t, "status"))
	heenID := r.field(t, "id").(string)
	ids, _ := a.list("42420001")
	require.Equal(t, []string{heenID}, ids, "delivered: the recipient answers")

	ans, err := g.Answer(m, sample.AnswerOptions{RetourCodes: []string{"0001"}})
	require.NoError(t, err)
	r = a.post("42420001", ans.XML)
	require.Equal(t, http.StatusAccepted, r.status, string(r.body))
	retourID := r.field(t, "id").(string)
	ids, _ = a.list("0384")
	require.Equal(t, []string{retourID}, ids)

	tr := a.do(http.MethodGet, "/v1/berichten/"+heenID, "0384", nil)
	require.Equal(t, http.StatusOK, tr.status, string(tr.body))
	assert.Equal(t, retourID, tr.field(t, "retour"))
	ms, ok := tr.field(t, "retourAfterMs").(float64)
	require.True(t, ok, string(tr.body))
	assert.GreaterOrEqual(t, ms, 0.0)
	tr = a.do(http.MethodGet, "/v1/berichten/"+retourID, "42420001", nil)
	require.Equal(t, http.StatusOK, tr.status, string(tr.body))
	assert.Equal(t, heenID, tr.field(t, "heen"))

	other, err := g.Heen(s, sample.Options{Afzender: "0384", Ontvanger: "42420001"})
	require.NoError(t, err)
	orphan, err := g.Answer(other, sample.AnswerOptions{})
	require.NoError(t, err)
	r = a.post("42420001", orphan.XML)
	assert.Equal(t, http.StatusUnprocessableEntity, r.status, string(r.body))
	assert.Equal(t, string(routing.CodeRetourWithoutHeen), r.field(t, "code"))
}

// TestConformanceRetour runs the conformance cases of the level-2 rules
// and the retourberichten with feature retour against a node that answers
// level-2 breaches: every rule case gets its retour, nothing is delivered.
func TestConformanceRetour(t *testing.T) {
	a := startAnswering(t, "")
	cases, err := conformance.Load("../conformance/testdata")
	require.NoError(t, err)
	rep, err := conformance.Run(context.Background(), conformance.Config{
		Target: a.url, Lease: time.Second, Features: []string{conformance.FeatureRetour},
		Run: regexp.MustCompile(`^(rule|retour)-`),
	}, cases)
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, rep.WriteText(&buf, true))
	t.Log(rep.Summary())
	assert.Zero(t, rep.Failed, buf.String())
	assert.Greater(t, rep.Passed, 50)
}

// TestSamenwerkingsverbandAnswersItself: retour: recipient on a
// samenwerkingsverband covers the gemeenten it handles.
func TestSamenwerkingsverbandAnswersItself(t *testing.T) {
	cfg := routing.DevConfig()
	for i := range cfg.Parties {
		if cfg.Parties[i].Code == "swv-demo-isd" {
			cfg.Parties[i].Retour = routing.RetourRecipient
		}
	}
	data, err := yaml.Marshal(cfg)
	require.NoError(t, err)
	// An empty releases map would mean "none active"; absent means all.
	data = regexp.MustCompile(`(?m)^\s*releases: \{\}\n`).ReplaceAll(data, nil)
	file := filepath.Join(t.TempDir(), "registry.yaml")
	require.NoError(t, os.WriteFile(file, data, 0o600))
	a := startAnswering(t, file)

	s, _ := bericht.Lookup("WMO305")
	m, err := sample.New(23).Heen(s, sample.Options{Violate: "CS002", Afzender: "42420001", Ontvanger: "0606"})
	require.NoError(t, err)
	r := a.post("42420001", m.XML)
	require.Equal(t, http.StatusAccepted, r.status, string(r.body))
	assert.Equal(t, "stored", r.field(t, "status"))
	ids, _ := a.list("swv-demo-isd")
	assert.Equal(t, []string{r.field(t, "id").(string)}, ids, "delivered to the samenwerkingsverband")
}

// BenchmarkPostAnswered compares one POST of a valid WMO301 (validate with
// rules, route, one synced Put) with one that breaks CS002 and is answered
// by the switch (the heenbericht, confirmed, and its answer in one synced
// write: PutAnswered). Generating each message is in both. One party posts, so run
// it within the gateway's per-party burst (200):
//
//	go test ./node -run '^$' -bench PostAnswered -benchtime=150x -count 5
func BenchmarkPostAnswered(b *testing.B) {
	for _, tc := range []struct{ name, violate string }{{"delivered", ""}, {"answered", "CS002"}} {
		b.Run(tc.name, func(b *testing.B) {
			a := startAnswering(b, "")
			s, _ := bericht.Lookup("WMO301")
			g := sample.New(31)
			for b.Loop() {
				m, err := g.Heen(s, sample.Options{Violate: tc.violate, Products: 1, Afzender: "0384", Ontvanger: "42420001"})
				if err != nil {
					b.Fatal(err)
				}
				if r := a.post("0384", m.XML); r.status != http.StatusAccepted {
					b.Fatalf("status %d: %s", r.status, r.body)
				}
			}
		})
	}
}
