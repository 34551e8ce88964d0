package xsd

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/sample"
	"github.com/stretchr/testify/require"
)

// The worst inputs of a size: what an adversary sends to make the
// validator work hardest per byte, within the bounds the pre-scan lets
// through (and the floods it refuses). BenchmarkWorstInputs compares
// each with a valid message of the same size.

// worstSizes are the sizes measured, up to the body limit.
var worstSizes = []int{64 << 10, 1 << 20, 8 << 20, 25 << 20}

// validOfSize is a valid JW323 (a declaratie, the largest berichtsoort)
// with as many product lines as fit, padded with white space after the
// root to exactly size bytes.
func validOfSize(t testing.TB, size int) []byte {
	t.Helper()
	gen := func(products int) []byte {
		s, ok := bericht.Lookup("JW323")
		require.True(t, ok)
		m, err := sample.New(5).Generate(s, sample.Options{Products: products})
		require.NoError(t, err)
		return m.XML
	}
	one, two := gen(1), gen(2)
	line := len(two) - len(one)
	n := max(1, 1+(size-len(one))/line)
	msg := gen(n)
	for len(msg) > size && n > 1 {
		n--
		msg = gen(n)
	}
	require.LessOrEqual(t, len(msg), size)
	return append(msg, bytes.Repeat([]byte{'\n'}, size-len(msg))...)
}

// worstInputs are the adversarial inputs of one size, by name.
func worstInputs(t testing.TB, size int) map[string][]byte {
	t.Helper()
	s, ok := bericht.Lookup("JW323")
	require.True(t, ok)
	m, err := sample.New(5).Generate(s, sample.Options{Products: 1})
	require.NoError(t, err)
	end := []byte("</jw323:Header>")
	head := m.XML[:bytes.Index(m.XML, end)+len(end)] // the root's first child is closed: depth 1
	root := "</jw323:Bericht>"
	fill := func(open, unit, close string) []byte {
		var b bytes.Buffer
		b.Write(head)
		b.WriteString(open)
		for b.Len()+len(unit)+len(close)+len(root) <= size {
			b.WriteString(unit)
		}
		b.WriteString(close)
		b.WriteString(root)
		return b.Bytes()
	}
	b := MessageBounds()
	deepOpen := strings.Repeat("<x"+nsDecls(b.MaxAttributes)+">", b.MaxDepth-3)
	deepClose := strings.Repeat("</x>", b.MaxDepth-3)
	return map[string][]byte{
		// Every element with as many attributes as allowed.
		"attributes at the bound": fill("<jw323:Client>", "<jw323:Onbekend"+attrs(b.MaxAttributes)+"/>", "</jw323:Client>"),
		// Nested as deep as allowed with namespace declarations on every
		// level, then elements whose prefix is looked up through all of them.
		"namespaces at every level": fill("<jw323:Client>"+deepOpen, "<jw323:X/>", deepClose+"</jw323:Client>"),
		// An attribute flood: refused at the bound, however long.
		"attribute flood": fill("<jw323:Client", ` a="1"`, "></jw323:Client>"),
		// A namespace declaration flood.
		"namespace flood": fill("<jw323:Client", ` xmlns:n="urn:x"`, "></jw323:Client>"),
		// One long text.
		"one long text": fill("<jw323:Client><jw323:Bsn>", "0", "</jw323:Bsn></jw323:Client>"),
		// Character references, which the parser decodes one by one.
		"character references": fill("<jw323:Client><jw323:Bsn>", "&#x30;", "</jw323:Bsn></jw323:Client>"),
		// Many elements the schema does not expect.
		"unexpected elements": fill("<jw323:Client>", "<jw323:Q/>", "</jw323:Client>"),
		// Short nested elements, each opened and closed at the deepest level.
		"deep and short": fill("<jw323:Client>"+strings.Repeat("<x>", b.MaxDepth-3), "<y/>", strings.Repeat("</x>", b.MaxDepth-3)+"</jw323:Client>"),
	}
}

// BenchmarkWorstInputs measures Set.Validate on a valid message and on
// each worst input of the same size; the ratios are in
// docs/performance.md. Run it with -run '^$' -bench WorstInputs -benchtime 3x.
func BenchmarkWorstInputs(b *testing.B) {
	s := embeddedSet(b)
	for _, size := range worstSizes {
		valid := validOfSize(b, size)
		_, err := s.Validate(valid)
		require.NoError(b, err)
		inputs := worstInputs(b, size)
		inputs["valid"] = valid
		for name, msg := range inputs {
			b.Run(fmt.Sprintf("%dKiB/%s", size>>10, name), func(b *testing.B) {
				b.SetBytes(int64(len(msg)))
				for b.Loop() {
					s.Validate(msg)
				}
			})
		}
	}
}

// TestWorstInputsRefusedOrChecked: every worst input is either refused by
// the pre-scan or gets through it to the parser and the schema, and none
// is accepted as a message.
func TestWorstInputsRefusedOrChecked(t *testing.T) {
	s := embeddedSet(t)
	for name, msg := range worstInputs(t, 64<<10) {
		_, err := s.Validate(msg)
		e := refusal(t, err)
		switch name {
		case "attribute flood", "namespace flood":
			require.Equal(t, CodeTooManyAttrs, e.Code, name)
		default: // within the bounds at this size
			require.NotEqual(t, CodeTooManyAttrs, e.Code, name)
			require.NotEqual(t, CodeTooMany, e.Code, name)
			require.NotEqual(t, CodeTooDeep, e.Code, name)
		}
	}
}
