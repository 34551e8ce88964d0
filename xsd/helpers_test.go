package xsd

import (
	"bytes"
	"encoding/xml"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/sample"
	"github.com/stretchr/testify/require"
)

// shared is the reference material beside the repository.
const shared = "../../shared/istandaarden"

// needShared skips the test when ../shared is absent.
func needShared(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(shared); err != nil {
		t.Skipf("skipped: reference schemas and examples not found at %s", shared)
	}
}

// example is a published message read from ../shared.
type example struct {
	name string // file name without .xml
	data []byte
}

// examples returns the messages in ../shared/istandaarden/*/<sub>/*.xml.
func examples(t testing.TB, sub string) []example {
	t.Helper()
	needShared(t)
	paths, err := filepath.Glob(filepath.Join(shared, "*", sub, "*.xml"))
	require.NoError(t, err)
	require.NotEmpty(t, paths, "no examples in %s/*/%s", shared, sub)
	sort.Strings(paths)
	var out []example
	for _, p := range paths {
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		out = append(out, example{strings.TrimSuffix(filepath.Base(p), ".xml"), data})
	}
	return out
}

// exampleOf returns the published example of one berichtsoort.
func exampleOf(t testing.TB, name string) []byte {
	t.Helper()
	for _, e := range examples(t, "examples") {
		if e.name == name {
			return e.data
		}
	}
	t.Fatalf("no published example %s", name)
	return nil
}

var (
	sets   = map[string]*Set{}
	setsMu sync.Mutex
)

// officialSet is the schema set in ../shared, loaded once per test binary.
func officialSet(t testing.TB) *Set {
	t.Helper()
	needShared(t)
	return cachedSet(t, shared)
}

// embeddedSet is the project's own schema set, loaded once per test binary.
func embeddedSet(t testing.TB) *Set { return cachedSet(t, "") }

func cachedSet(t testing.TB, dir string) *Set {
	t.Helper()
	setsMu.Lock()
	defer setsMu.Unlock()
	if s, ok := sets[dir]; ok {
		return s
	}
	s, err := Load(Config{Dir: dir})
	require.NoError(t, err)
	sets[dir] = s
	return s
}

// refusal asserts err is an *Error and returns it.
func refusal(t testing.TB, err error) *Error {
	t.Helper()
	var e *Error
	require.Error(t, err)
	require.True(t, errors.As(err, &e), "want *Error, got %T: %v", err, err)
	return e
}

// oracleHeader reads the header fields of msg with encoding/xml, an
// implementation independent of libxml2, keyed by the path below Header
// ("Afzender", "BerichtIdentificatie/Identificatie").
func oracleHeader(t testing.TB, msg []byte) map[string]string {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(msg))
	out := map[string]string{}
	var path []string
	var text strings.Builder
	for {
		tok, err := d.Token()
		if err != nil {
			break
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			path = append(path, tok.Name.Local)
			text.Reset()
		case xml.CharData:
			text.Write(tok)
		case xml.EndElement:
			if len(path) >= 3 && path[1] == "Header" {
				key := strings.Join(path[2:], "/")
				if _, seen := out[key]; !seen {
					out[key] = text.String()
				}
			}
			text.Reset()
			path = path[:len(path)-1]
			if len(path) == 1 && tok.Name.Local == "Header" {
				return out
			}
		}
	}
	return out
}

// lineCol returns the 1-based line and column (in characters) of byte
// offset off, computed the simple way.
func lineCol(msg []byte, off int) (int, int) {
	lines := strings.Split(string(msg[:off]), "\n")
	return len(lines), len([]rune(lines[len(lines)-1])) + 1
}

// generated returns a message of the named berichtsoort from the project's
// own generator (the same bytes on every call).
func generated(t testing.TB, name string) []byte {
	t.Helper()
	s, ok := bericht.Lookup(name)
	require.True(t, ok, name)
	m, err := sample.New(42).Generate(s, sample.Options{Products: 2})
	require.NoError(t, err)
	return m.XML
}

// setText replaces the text of the first element named qname ("wmo301:Bsn")
// in msg and returns the new message and the old text.
func setText(t testing.TB, msg []byte, qname, text string) ([]byte, string) {
	t.Helper()
	re := regexp.MustCompile(`<` + regexp.QuoteMeta(qname) + `>([^<]*)</`)
	loc := re.FindSubmatchIndex(msg)
	require.NotNil(t, loc, "no <%s> in message", qname)
	old := string(msg[loc[2]:loc[3]])
	out := append(append(append([]byte{}, msg[:loc[2]]...), text...), msg[loc[3]:]...)
	return out, old
}
