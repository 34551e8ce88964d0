package routing

import (
	"context"
	"encoding/xml"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/bericht"
)

// readHeader reads the routing fields of a message's header by local name.
func readHeader(t *testing.T, path string) bericht.Header {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var h bericht.Header
	dec := xml.NewDecoder(f)
	var stack []string
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if len(stack) == 0 {
				s, ok := bericht.ByNamespace(tok.Name.Space)
				require.True(t, ok, "%s: namespace %s", path, tok.Name.Space)
				h.Soort = s
			}
			stack = append(stack, tok.Name.Local)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) < 3 || stack[1] != "Header" {
				continue
			}
			v := string(tok)
			switch path := stack[2:]; {
			case len(path) == 1 && path[0] == "Afzender":
				h.Afzender = v
			case len(path) == 1 && path[0] == "Ontvanger":
				h.Ontvanger = v
			case len(path) == 2 && path[0] == "BerichtIdentificatie" && path[1] == "Identificatie":
				h.Identificatie = v
			case len(path) == 2 && path[0] == "BerichtIdentificatie" && path[1] == "Dagtekening":
				h.Dagtekening = v
			case len(path) == 2 && path[0] == "DeclaratieIdentificatie" && path[1] == "Identificatie":
				h.DeclaratieIdentificatie = v
			}
		}
	}
	return h
}

// TestPublishedExamples routes every published example message with the
// dev registry, posted by the party its header names, heenberichten first:
// each goes to the mailbox of the party the standard says, and an answer
// whose heenbericht has no published example is refused.
func TestPublishedExamples(t *testing.T) {
	r := DevRegistry()
	routed := 0
	for _, std := range []string{"iwmo-3.2", "ijw-3.2"} {
		dir := filepath.Join("..", "..", "shared", "istandaarden", std, "examples")
		files, _ := filepath.Glob(filepath.Join(dir, "*.xml"))
		if len(files) == 0 {
			t.Skipf("skipped: no published examples in %s", dir)
		}
		var heens, answers []bericht.Header
		for _, f := range files {
			h := readHeader(t, f)
			if h.Soort.Answers() {
				answers = append(answers, h)
			} else {
				heens = append(heens, h)
			}
		}
		store := &heenStore{}
		ctx := context.Background()
		for _, h := range heens {
			p, ok := r.ByToken("dev-" + h.Afzender)
			require.True(t, ok, h.Afzender)
			d, err := r.Route(ctx, p, h, store.lookup)
			require.NoError(t, err, h.Soort.Name)
			assert.Equal(t, h.Ontvanger, d.Mailbox, h.Soort.Name)
			store.add(h.Afzender, h.Soort.Name, h.Identificatie, HeenRef{ID: h.Soort.Name, Sender: d.Sender, Recipient: d.Mailbox})
		}
		for _, h := range answers {
			sender, key, keySender := h.Afzender, h.DeclaratieIdentificatie, h.Ontvanger // a 325
			if h.Soort.Retour {
				sender, key, keySender = h.Ontvanger, h.Identificatie, h.Afzender
			}
			p, ok := r.ByToken("dev-" + sender)
			require.True(t, ok, sender)
			d, err := r.Route(ctx, p, h, store.lookup)
			if !published(heens, h.Soort.Pair, keySender, key) {
				// Some published answers do not match a published heen.
				assert.ErrorIs(t, err, &Error{Code: CodeRetourWithoutHeen}, h.Soort.Name)
				t.Logf("%s: no published %s %s from %s: refused", h.Soort.Name, h.Soort.Pair, key, keySender)
				continue
			}
			require.NoError(t, err, h.Soort.Name)
			assert.Equal(t, h.Soort.Pair, d.HeenID)
			assert.Equal(t, keySender, d.Mailbox, "%s goes back to the sender of its heenbericht", h.Soort.Name)
			routed++
		}
		assert.NotEmpty(t, heens)
	}
	assert.GreaterOrEqual(t, routed, 10, "10 of the 13 published answers match a published heenbericht")
}

// published reports whether heens holds berichtsoort soort from sender with
// Identificatie id.
func published(heens []bericht.Header, soort, sender, id string) bool {
	for _, h := range heens {
		if h.Soort.Name == soort && h.Afzender == sender && h.Identificatie == id {
			return true
		}
	}
	return false
}
