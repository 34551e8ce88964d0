package node

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/logtest"
	"github.com/knooppunt/knooppunt/sample"
	"github.com/knooppunt/knooppunt/store/pebble"
)

// Fictitious names put into every message of the privacy test: rare
// enough that finding one anywhere but in message content is a leak.
const (
	secretAchternaam = "Zwanenburgh"
	secretVoornamen  = "Quirijntje"
	// secretBadBsn is a Bsn of ten digits: it breaks the XSD pattern, so
	// libxml2 quotes it in its violation message.
	secretBadBsn = "7382910465"
)

var (
	achternaamRe = regexp.MustCompile(`(<(?:\w+:)?Achternaam>)[^<]*(<)`)
	voornamenRe  = regexp.MustCompile(`(<(?:\w+:)?Voornamen>)[^<]*(<)`)
)

// privacyRun posts messages through a node and keeps every secret it put
// in them and every body it must scan.
type privacyRun struct {
	t        *testing.T
	n        *Node
	g        *sample.Generator
	secrets  map[string]bool
	scanned  []string // "METHOD path status: body" of every answer but message content
	statuses map[int]int
}

// message generates a message of soort with the secret names, and records
// its BSNs as secrets.
func (r *privacyRun) message(soort string, o sample.Options) []byte {
	s, ok := bericht.Lookup(soort)
	require.True(r.t, ok, soort)
	m, err := r.g.Heen(s, o)
	require.NoError(r.t, err)
	xml := achternaamRe.ReplaceAll(m.XML, []byte("${1}"+secretAchternaam+"${2}"))
	xml = voornamenRe.ReplaceAll(xml, []byte("${1}"+secretVoornamen+"${2}"))
	require.True(r.t, bytes.Contains(xml, []byte(secretAchternaam)), "the message carries a name")
	for _, sm := range bsnRe.FindAllSubmatch(xml, -1) {
		r.secrets[string(sm[1])] = true
	}
	return xml
}

// do calls the API and records the answer for the scan unless it is
// message content (a mailbox fetch that succeeded).
func (r *privacyRun) do(method, url, token, ctype string, body []byte) (int, []byte) {
	code, b := call(r.t, method, url, token, ctype, string(body))
	r.statuses[code]++
	content := method == http.MethodGet && strings.Contains(url, "/v1/mailbox/") && code == http.StatusOK
	if !content {
		r.scanned = append(r.scanned, fmt.Sprintf("%s %s %d: %s", method, url, code, b))
	}
	return code, b
}

// TestNoPersonalDataInLogsMetricsOrErrors sends messages with known BSNs
// and names through every path of a dev node — accepted, XSD-invalid with
// the BSN as the offending value, breaking CS002, resent, resent with
// other content, in a batch, fetched, confirmed, traced, with the products
// listener on — and finds none of them in the log (every level), the
// metrics or any answer but the message content itself.
func TestNoPersonalDataInLogsMetricsOrErrors(t *testing.T) {
	var logs logtest.Buffer
	dir := t.TempDir()
	n, err := Start(context.Background(), Config{Dev: true, Addr: "127.0.0.1:0", AnswerRules: true,
		Store:   pebble.Config{Dir: filepath.Join(dir, "data")},
		Insight: InsightConfig{Addr: "127.0.0.1:0"},
		Logger:  zerolog.New(&logs).Level(zerolog.TraceLevel)})
	require.NoError(t, err)
	defer n.Close()
	r := &privacyRun{t: t, n: n, g: sample.New(7), secrets: map[string]bool{secretAchternaam: true, secretVoornamen: true, secretBadBsn: true}, statuses: map[int]int{}}
	api := n.URL()
	send := func(token string, xml []byte) (int, []byte) {
		return r.do("POST", api+"/v1/berichten", token, "application/xml", xml)
	}

	// Accepted, then resent identically (200), then resent with other content (409).
	heen := r.message("WMO301", sample.Options{Afzender: "0363", Ontvanger: "12345678", Identificatie: "PRIV1", Products: 1})
	code, body := send("dev-0363", heen)
	require.Equal(t, http.StatusAccepted, code, string(body))
	var stored struct{ ID string }
	require.NoError(t, json.Unmarshal(body, &stored))
	code, _ = send("dev-0363", heen)
	require.Equal(t, http.StatusOK, code)
	other := r.message("WMO301", sample.Options{Afzender: "0363", Ontvanger: "12345678", Identificatie: "PRIV1", Products: 2})
	code, _ = send("dev-0363", other)
	require.Equal(t, http.StatusConflict, code)

	// XSD-invalid: the offending value is a BSN; libxml2 quotes it.
	bad := bsnRe.ReplaceAllFunc(r.message("WMO301", sample.Options{Afzender: "0363", Ontvanger: "12345678", Products: 1}), func(m []byte) []byte {
		return bytes.Replace(m, bsnRe.FindSubmatch(m)[1], []byte(secretBadBsn), 1)
	})
	code, body = send("dev-0363", bad)
	require.Equal(t, http.StatusUnprocessableEntity, code, string(body))
	require.Contains(t, string(body), "xsd-invalid")
	code, _ = r.do("POST", api+"/v1/validate", "dev-0363", "application/xml", bad)
	require.Equal(t, http.StatusUnprocessableEntity, code)

	// Not well-formed: libxml2 names what it could not read — here an
	// entity and a control character in a name.
	for _, broken := range []string{"&" + secretAchternaam + ";", secretAchternaam + "\x00"} {
		m := bytes.Replace(r.message("WMO301", sample.Options{Afzender: "0363", Ontvanger: "12345678", Products: 1}), []byte(secretAchternaam), []byte(broken), 1)
		code, body = send("dev-0363", m)
		require.Equal(t, http.StatusBadRequest, code, string(body))
	}
	// What libxml2 quotes when it stumbles: an unterminated CDATA section
	// and a comment holding "--" (both carrying a name), and an xsi:type
	// whose value is a name; and what follows a NUL after the root.
	for _, c := range []struct {
		status int
		edit   func(m []byte) []byte
	}{
		{http.StatusBadRequest, func(m []byte) []byte { // ends inside a CDATA section
			i := bytes.Index(m, []byte(secretAchternaam))
			return append(bytes.Clone(m[:i]), "<![CDATA["+secretAchternaam+" "+secretBadBsn...)
		}},
		{http.StatusBadRequest, func(m []byte) []byte { // "--" in a comment before the root
			i := bytes.Index(m, []byte("?>")) + 2
			return append(append(bytes.Clone(m[:i]), "<!-- "+secretVoornamen+" -- "+secretAchternaam+" -->"...), m[i:]...)
		}},
		{http.StatusBadRequest, func(m []byte) []byte { // a comment in the root
			return bytes.Replace(m, []byte(secretAchternaam), []byte("<!-- "+secretVoornamen+" -->"+secretAchternaam), 1)
		}},
		{http.StatusUnprocessableEntity, func(m []byte) []byte { // xsi:type naming a person
			tag := achternaamRe.Find(m)
			open := tag[:bytes.IndexByte(tag, '>')]
			return bytes.Replace(m, open, append(bytes.Clone(open), ` xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="`+secretVoornamen+`"`...), 1)
		}},
		{http.StatusBadRequest, func(m []byte) []byte { // a NUL, then more
			return append(bytes.Clone(m), "\x00<"+secretVoornamen+">"+secretAchternaam+"</"+secretVoornamen+">"...)
		}},
	} {
		m := c.edit(r.message("WMO301", sample.Options{Afzender: "0363", Ontvanger: "12345678", Products: 1}))
		code, body = send("dev-0363", m)
		require.Equal(t, c.status, code, string(body))
		code, _ = r.do("POST", api+"/v1/validate", "dev-0363", "application/xml", m)
		require.Equal(t, c.status, code)
	}
	// Markup named after a person: a start tag that does not match its end
	// tag (not well-formed), and an unknown element and attribute in an
	// otherwise valid message (XSD-invalid).
	named := func(code int, repl func(tag []byte) []byte) {
		m := bsnRe.ReplaceAllFunc(r.message("WMO301", sample.Options{Afzender: "0363", Ontvanger: "12345678", Products: 1}), func(b []byte) []byte {
			i := bytes.IndexByte(b, '>')
			return append(repl(bytes.Clone(b[:i])), b[i:]...)
		})
		got, body := send("dev-0363", m)
		require.Equal(t, code, got, string(body))
	}
	named(http.StatusBadRequest, func([]byte) []byte { return []byte("<" + secretVoornamen) })
	named(http.StatusUnprocessableEntity, func(tag []byte) []byte { return append([]byte("<"+secretVoornamen+"/>"), tag...) })
	named(http.StatusUnprocessableEntity, func(tag []byte) []byte { return append(tag, " "+secretVoornamen+`="1"`...) })

	// A level-2 violation (the BSN fails the elfproef: the switch answers
	// with a retourbericht), spoofing and a wrong direction: refused or
	// accepted, never echoing the content.
	code, body = send("dev-0363", r.message("WMO301", sample.Options{Afzender: "0363", Ontvanger: "12345678", Violate: "CS002", Products: 1}))
	require.Equal(t, http.StatusAccepted, code, string(body))
	code, _ = send("dev-0384", r.message("WMO301", sample.Options{Afzender: "0363", Ontvanger: "12345678", Products: 1}))
	require.Equal(t, http.StatusForbidden, code)
	code, _ = send("dev-12345678", r.message("WMO301", sample.Options{Afzender: "12345678", Ontvanger: "0363", Products: 1}))
	require.Equal(t, http.StatusUnprocessableEntity, code)

	// A batch: one good message, one XSD-invalid.
	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	for i, m := range [][]byte{r.message("WMO301", sample.Options{Afzender: "0363", Ontvanger: "12345678", Products: 1}), bad} {
		w, err := zw.Create(fmt.Sprintf("m%d.xml", i))
		require.NoError(t, err)
		_, err = w.Write(m)
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	code, body = r.do("POST", api+"/v1/berichten/batch", "dev-0363", "application/zip", zb.Bytes())
	require.Equal(t, http.StatusOK, code, string(body))

	// The recipient lists, fetches and confirms; everyone traces.
	code, body = r.do("GET", api+"/v1/mailbox", "dev-12345678", "", nil)
	require.Equal(t, http.StatusOK, code)
	var list struct{ Berichten []struct{ ID string } }
	require.NoError(t, json.Unmarshal(body, &list))
	require.NotEmpty(t, list.Berichten)
	for _, m := range list.Berichten {
		code, body = r.do("GET", api+"/v1/mailbox/"+m.ID, "dev-12345678", "", nil)
		require.Equal(t, http.StatusOK, code)
		require.Contains(t, string(body), secretAchternaam, "the content itself is delivered")
		code, _ = r.do("DELETE", api+"/v1/mailbox/"+m.ID, "dev-12345678", "", nil)
		require.Equal(t, http.StatusNoContent, code)
	}
	// The sender fetches the switch's answer to the CS002 message.
	code, body = r.do("GET", api+"/v1/mailbox", "dev-0363", "", nil)
	require.Equal(t, http.StatusOK, code)
	list.Berichten = nil
	require.NoError(t, json.Unmarshal(body, &list))
	require.NotEmpty(t, list.Berichten, "the retourbericht of the CS002 message")
	for _, m := range list.Berichten {
		code, _ = r.do("GET", api+"/v1/mailbox/"+m.ID, "dev-0363", "", nil)
		require.Equal(t, http.StatusOK, code)
		code, _ = r.do("DELETE", api+"/v1/mailbox/"+m.ID, "dev-0363", "", nil)
		require.Equal(t, http.StatusNoContent, code)
		r.do("GET", api+"/v1/berichten/"+m.ID, "dev-0363", "", nil)
	}
	r.do("GET", api+"/v1/mailbox/"+stored.ID, "dev-0384", "", nil) // not theirs: 404
	for _, tok := range []string{"dev-0363", "dev-12345678", "dev-operator", "dev-auditor", "dev-0384", "dev-nza"} {
		r.do("GET", api+"/v1/berichten/"+stored.ID, tok, "", nil)
	}
	r.do("GET", api+"/v1/audit", "dev-auditor", "", nil)
	r.do("GET", api+"/v1/audit?from=not-a-time", "dev-auditor", "", nil)
	r.do("GET", api+"/operations", "dev-operator", "", nil)
	r.do("GET", api+"/operations?periode=12weken", "dev-operator", "", nil)

	// The products listener: stuurinformatie, dashboard, samenloop.
	if in := n.InsightURL(); in != "" {
		for _, tok := range []string{"dev-0363", "dev-operator", "dev-nza"} {
			r.do("GET", in+"/v1/stuurinfo?granularity=maand", tok, "", nil)
			r.do("GET", in+"/v1/stuurinfo/nza", tok, "", nil)
			r.do("GET", in+"/dashboard", tok, "", nil)
		}
		csv := "bsn,begindatum,einddatum\n" + secretBadBsn + ",2020-01-01,\n"
		for bsn := range r.secrets {
			if len(bsn) == 9 {
				csv += bsn + ",2020-01-01,\n"
			}
		}
		r.do("POST", in+"/v1/samenloop/wlz-register", "dev-operator", "text/csv", []byte(csv))
		r.do("POST", in+"/v1/samenloop/run", "dev-operator", "", nil)
	}

	_, metrics := r.do("GET", api+"/metrics", "", "", nil)
	require.Contains(t, string(metrics), "knooppunt_http_requests_total")
	require.NoError(t, n.Shutdown(context.Background()))
	log := logs.String()
	require.NotEmpty(t, log, "the node logged")
	require.Greater(t, len(r.secrets), 5, "the messages carried BSNs")

	haystacks := map[string]string{"log": log, "metrics": string(metrics)}
	for i, s := range r.scanned {
		haystacks[fmt.Sprintf("answer %d", i)] = s
	}
	for where, text := range haystacks {
		for secret := range r.secrets {
			assert.NotContains(t, text, secret, "personal data in the %s", where)
		}
	}
	// The scan covered refusals as well as successes.
	for _, code := range []int{200, 202, 204, 403, 404, 409, 422} {
		assert.Positive(t, r.statuses[code], "no answer with status %d was scanned", code)
	}
}
