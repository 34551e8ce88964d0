package conformance

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/beevik/etree"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/bericht/mutation"
	"github.com/knooppunt/knooppunt/sample"
)

// message is one message of a case, as built by a message directive.
type message struct {
	name string
	body []byte
	// soort is the berichtsoort, when known (generated and derived ones).
	soort bericht.Soort
	// ident is the Identificatie the case gave it (IdentificatieRetour
	// for a retour), when known.
	ident string
	// gen and sample are set for generated messages, so answer can answer
	// them with the generator that made them.
	gen    *sample.Generator
	sample *sample.Message
	// parts are the messages a zip holds, in archive order.
	parts []string
}

// idLen is the length of an Identificatie the runner makes: the most
// LDT_IdentificatieBericht allows, so a generated message's layout (and
// so the line of an XSD violation) is the same in every run.
const idLen = 12

// prefixLen is the length of a run's prefix within an Identificatie.
const prefixLen = 5

// ident is the Identificatie of message name in case c for this run: the
// run's prefix and a hash of the case and the message, so every message of
// every case differs and the next run differs again.
func (r *run) ident(c *Case, name string) string {
	h := fnv.New64a()
	h.Write([]byte(c.Name))
	h.Write([]byte{0})
	h.Write([]byte(name))
	s := strconv.FormatUint(h.Sum64(), 36)
	for len(s) < idLen-prefixLen {
		s = "0" + s
	}
	return r.prefix + s[:idLen-prefixLen]
}

// nummer is the run's value of {{nummer:NAME}} in case c: a 9-digit
// number (100000000 to 999999999, an LDT_Nummer such as a
// ToewijzingNummer) drawn from the run's prefix, the case and NAME. So a
// key of the standard a case needs fresh, like the TR101 key of a 305 line
// the aanleveringen check remembers, is the same wherever NAME recurs in
// the case and new in the next run against the same target.
func (r *run) nummer(c *Case, name string) string {
	h := fnv.New64a()
	for _, part := range []string{r.prefix, c.Name, name} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return strconv.FormatUint(100_000_000+h.Sum64()%900_000_000, 10)
}

// placeholder is {{id:NAME}}, {{nummer:NAME}} or {{today}} in an inline or
// file message, or in the text a derive step writes.
var placeholder = regexp.MustCompile(`\{\{((?:id|nummer):[A-Za-z0-9_.-]+|today)\}\}`)

// build runs one message directive.
func (r *run) build(c *Case, st Step, msgs map[string]*message) (*message, error) {
	name, kind := st.Args[0], st.Args[1]
	rest := st.Args[2:]
	switch kind {
	case "sample":
		if len(rest) != 1 {
			return nil, fmt.Errorf("message %s sample wants a berichtsoort", name)
		}
		return r.generate(c, st, name, rest[0], msgs)
	case "answer":
		if len(rest) != 1 {
			return nil, fmt.Errorf("message %s answer wants the heenbericht's name", name)
		}
		return r.answer(c, st, name, msgs[rest[0]])
	case "mutate":
		if len(rest) != 2 {
			return nil, fmt.Errorf("message %s mutate wants a message and a class", name)
		}
		return mutate(st, name, msgs[rest[0]], mutation.Class(rest[1]))
	case "derive":
		if len(rest) != 2 {
			return nil, fmt.Errorf("message %s derive wants a message and an operation", name)
		}
		return derive(r.expandOpts(c, st), name, msgs[rest[0]], rest[1])
	case "zip":
		if len(rest) == 0 {
			return nil, fmt.Errorf("message %s zip wants the messages to pack", name)
		}
		return zipOf(name, rest, msgs)
	case "inline":
		if len(rest) != 0 {
			return nil, fmt.Errorf("message %s inline takes no further argument", name)
		}
		return &message{name: name, body: r.expand(c, c.Files[name])}, nil
	case "file":
		if len(rest) != 1 {
			return nil, fmt.Errorf("message %s file wants a path", name)
		}
		data, err := c.readFile(rest[0])
		if err != nil {
			return nil, fmt.Errorf("reading message %s: %w", name, err)
		}
		return &message{name: name, body: r.expand(c, data)}, nil
	}
	return nil, fmt.Errorf("message %s: unknown source %q (want sample, answer, mutate, derive, zip, inline or file)", name, kind)
}

// zipOf packs messages into a ZIP archive for a batch post, each as
// NAME.xml, in the order given.
func zipOf(name string, parts []string, msgs map[string]*message) (*message, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, p := range parts {
		m, ok := msgs[p]
		if !ok {
			return nil, fmt.Errorf("message %s zip: message %q is not defined", name, p)
		}
		w, err := zw.Create(p + ".xml")
		if err != nil {
			return nil, fmt.Errorf("message %s zip: %w", name, err)
		}
		if _, err := w.Write(m.body); err != nil {
			return nil, fmt.Errorf("message %s zip: %w", name, err)
		}
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("message %s zip: %w", name, err)
	}
	return &message{name: name, body: buf.Bytes(), parts: parts}, nil
}

// expand replaces the placeholders of an inline or file message.
func (r *run) expand(c *Case, data []byte) []byte {
	return placeholder.ReplaceAllFunc(data, func(m []byte) []byte {
		key := string(m[2 : len(m)-2])
		if key == "today" {
			return []byte(r.today.Format(time.DateOnly))
		}
		if name, ok := strings.CutPrefix(key, "nummer:"); ok {
			return []byte(r.nummer(c, name))
		}
		return []byte(r.ident(c, strings.TrimPrefix(key, "id:")))
	})
}

// expandOpts is st with the placeholders of the options that hold text a
// derive step writes into the message (value, old, new) replaced.
func (r *run) expandOpts(c *Case, st Step) Step {
	out := st
	out.Opts = make(map[string]string, len(st.Opts))
	for k, v := range st.Opts {
		if k == "value" || k == "old" || k == "new" {
			v = string(r.expand(c, []byte(v)))
		}
		out.Opts[k] = v
	}
	return out
}

// generate is "message NAME sample SOORT [afzender=] [ontvanger=] [seed=]
// [violate=] [dagtekening=] [products=] [clients=] [id=OTHER]".
func (r *run) generate(c *Case, st Step, name, soortName string, msgs map[string]*message) (*message, error) {
	s, ok := bericht.Lookup(soortName)
	if !ok {
		return nil, fmt.Errorf("message %s: unknown berichtsoort %q", name, soortName)
	}
	opt := sample.Options{Identificatie: r.ident(c, name)}
	seed := int64(1)
	for _, k := range st.Keys {
		v := st.Opts[k]
		var err error
		switch k {
		case "afzender":
			opt.Afzender = v
		case "ontvanger":
			opt.Ontvanger = v
		case "violate":
			opt.Violate = v
		case "seed":
			seed, err = strconv.ParseInt(v, 10, 64)
		case "products":
			opt.Products, err = strconv.Atoi(v)
		case "clients":
			opt.Clients, err = strconv.Atoi(v)
		case "dagtekening":
			opt.Dagtekening, err = time.Parse(time.DateOnly, v)
		case "id":
			opt.Identificatie = msgs[v].ident
		default:
			return nil, fmt.Errorf("message %s sample: unknown option %s", name, k)
		}
		if err != nil {
			return nil, fmt.Errorf("message %s sample: %s=%q: %w", name, k, v, err)
		}
	}
	g := sample.New(seed)
	var m *sample.Message
	var err error
	if s.Answers() {
		m, err = g.Generate(s, opt)
	} else {
		m, err = g.Heen(s, opt)
	}
	if err != nil {
		return nil, fmt.Errorf("message %s: %w", name, err)
	}
	ident := m.Header.Identificatie
	if s.Retour {
		ident = m.Header.IdentificatieRetour
	}
	return &message{name: name, body: m.XML, soort: s, ident: ident, gen: g, sample: m}, nil
}

// answer is "message NAME answer HEEN [retourcodes=a,b] [reject=code]".
func (r *run) answer(c *Case, st Step, name string, heen *message) (*message, error) {
	if heen.sample == nil || heen.sample.Soort.Answers() {
		return nil, fmt.Errorf("message %s: %s is no generated heenbericht", name, heen.name)
	}
	opt := sample.AnswerOptions{Identificatie: r.ident(c, name)}
	for _, k := range st.Keys {
		v := st.Opts[k]
		switch k {
		case "retourcodes":
			opt.RetourCodes = strings.Split(v, ",")
		case "reject":
			opt.Reject = v
		default:
			return nil, fmt.Errorf("message %s answer: unknown option %s", name, k)
		}
	}
	m, err := heen.gen.Answer(heen.sample, opt)
	if err != nil {
		return nil, fmt.Errorf("message %s: %w", name, err)
	}
	return &message{name: name, body: m.XML, soort: m.Soort, ident: opt.Identificatie, gen: heen.gen, sample: m}, nil
}

// mutate is "message NAME mutate BASE CLASS [seed=N]": one variant of
// class CLASS (bericht/mutation), chosen by seed.
func mutate(st Step, name string, base *message, class mutation.Class) (*message, error) {
	if base.soort.Name == "" {
		return nil, fmt.Errorf("message %s: %s has no known berichtsoort to mutate", name, base.name)
	}
	seed := uint64(1)
	for _, k := range st.Keys {
		v := st.Opts[k]
		switch k {
		case "seed":
			s, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("message %s mutate: seed=%q: %w", name, v, err)
			}
			seed = s
		default:
			return nil, fmt.Errorf("message %s mutate: unknown option %s", name, k)
		}
	}
	mu, err := mutation.New(base.soort, base.body)
	if err != nil {
		return nil, fmt.Errorf("message %s: %w", name, err)
	}
	v, ok := mu.Mutate(class, rand.New(rand.NewPCG(seed, seed)))
	if !ok {
		return nil, fmt.Errorf("message %s: class %q yields no variant of %s", name, class, base.soort.Name)
	}
	return &message{name: name, body: v.Doc, soort: base.soort, ident: base.ident}, nil
}

// derive is "message NAME derive BASE OP [options]": a byte-level change
// of BASE the XSD cannot express (see README.md for the operations).
func derive(st Step, name string, base *message, op string) (*message, error) {
	in := base.body
	var out []byte
	decl, rest := splitDeclaration(in)
	switch op {
	case "bom":
		out = append([]byte("\uFEFF"), in...)
	case "utf16":
		u := utf16.Encode([]rune(string(bytes.Replace(in, []byte(`encoding="UTF-8"`), []byte(`encoding="UTF-16"`), 1))))
		out = []byte{0xFF, 0xFE}
		for _, c := range u {
			out = append(out, byte(c), byte(c>>8))
		}
	case "latin1":
		out = bytes.Replace(in, []byte(`encoding="UTF-8"`), []byte(`encoding="ISO-8859-1"`), 1)
	case "bad-utf8":
		out = join(decl, []byte("<!-- \xff\xfe -->\n"), rest)
	case "doctype":
		out = join(decl, []byte("<!DOCTYPE Bericht>\n"), rest)
	case "xxe":
		out = join(decl, []byte("<!DOCTYPE Bericht [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n"),
			bytes.Replace(rest, []byte(base.ident), []byte("&xxe;"), 1))
	case "entities":
		var d strings.Builder
		d.WriteString("<!DOCTYPE Bericht [\n<!ENTITY l0 \"lol\">\n")
		for i := 1; i <= 9; i++ {
			fmt.Fprintf(&d, "<!ENTITY l%d \"%s\">\n", i, strings.Repeat(fmt.Sprintf("&l%d;", i-1), 10))
		}
		d.WriteString("]>\n")
		out = join(decl, []byte(d.String()), bytes.Replace(rest, []byte(base.ident), []byte("&l9;"), 1))
	case "pad":
		n, err := padding(st, len(in))
		if err != nil {
			return nil, fmt.Errorf("message %s derive pad: %w", name, err)
		}
		if out, err = pad(in, n); err != nil {
			return nil, fmt.Errorf("message %s derive pad: %w", name, err)
		}
	case "replace":
		old, ok1 := st.Opt("old")
		nw, ok2 := st.Opt("new")
		if !ok1 || !ok2 || old == "" {
			return nil, fmt.Errorf("message %s derive replace wants old=… new=…", name)
		}
		if !bytes.Contains(in, []byte(old)) {
			return nil, fmt.Errorf("message %s: %q does not occur in %s", name, old, base.name)
		}
		out = bytes.Replace(in, []byte(old), []byte(nw), 1)
	case "truncate":
		v, _ := st.Opt("keep")
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > len(in) {
			return nil, fmt.Errorf("message %s derive truncate wants keep=N within the message", name)
		}
		out = append([]byte(nil), in[:n]...)
	case "empty":
		out = []byte{}
	case "set", "drop":
		var err error
		if out, err = edit(st, name, base, op); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("message %s: unknown derive operation %q", name, op)
	}
	return &message{name: name, body: out, soort: base.soort, ident: base.ident}, nil
}

// maxGap is the most white space pad puts in one place: libxml2 refuses a
// single text node over 10 MB (XML_MAX_TEXT_LENGTH), and a run of white
// space after the root element that long, as not well-formed.
const maxGap = 1 << 20

// pad spreads n bytes of white space over the white space between the
// elements of msg, at most maxGap in one place: the message stays valid,
// since white space between elements means nothing to its schema, and
// nothing but white space follows its root.
func pad(msg []byte, n int) ([]byte, error) {
	var gaps []int // offsets just after a '>' that white space up to a '<' follows
	for i := 1; i < len(msg); i++ {
		if msg[i-1] != '>' || !isBlank(msg[i]) {
			continue
		}
		j := i
		for j < len(msg) && isBlank(msg[j]) {
			j++
		}
		if j < len(msg) && msg[j] == '<' {
			gaps = append(gaps, i)
		}
	}
	if len(gaps) == 0 || (n+len(gaps)-1)/len(gaps) > maxGap {
		return nil, fmt.Errorf("%d bytes do not fit in the %d places of white space between its elements", n, len(gaps))
	}
	out := make([]byte, 0, len(msg)+n)
	at := 0
	for k, g := range gaps {
		share := n / len(gaps)
		if k < n%len(gaps) {
			share++
		}
		out = append(append(out, msg[at:g]...), whitespace(share)...)
		at = g
	}
	return append(out, msg[at:]...), nil
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// whitespace returns exactly n bytes of white space, in lines of at most 80.
func whitespace(n int) []byte {
	out := bytes.Repeat([]byte(strings.Repeat(" ", 79)+"\n"), n/80)
	return append(out, bytes.Repeat([]byte{' '}, n%80)...)
}

// padding is the number of bytes "pad" adds: bytes=N, or total=N for a
// result of exactly N bytes.
func padding(st Step, size int) (int, error) {
	n, err := -1, error(nil)
	if v, ok := st.Opt("bytes"); ok {
		n, err = strconv.Atoi(v)
	} else if v, ok := st.Opt("total"); ok {
		n, err = strconv.Atoi(v)
		n -= size
	}
	if err != nil || n < 8 {
		return 0, errors.New("wants bytes=N or total=N, adding at least 8 bytes")
	}
	return n, nil
}

// splitDeclaration splits the XML declaration (with its line end) from
// the rest of the message.
func splitDeclaration(b []byte) (decl, rest []byte) {
	if !bytes.HasPrefix(b, []byte("<?xml")) {
		return nil, b
	}
	i := bytes.Index(b, []byte("?>"))
	if i < 0 {
		return nil, b
	}
	i += 2
	if i < len(b) && b[i] == '\n' {
		i++
	}
	return b[:i], b[i:]
}

func join(parts ...[]byte) []byte {
	return bytes.Join(parts, nil)
}

// edit is "derive BASE set path=P value=V" (the text of every element P
// matches) and "derive BASE drop path=P" (the first element P matches),
// for messages that keep their schema but break a rule of the standard.
// P is an etree path on local names, e.g. //Client/Contact[1]/Adres/Huis.
func edit(st Step, name string, base *message, op string) ([]byte, error) {
	path, _ := st.Opt("path")
	if path == "" {
		return nil, fmt.Errorf("message %s derive %s wants path=…", name, op)
	}
	p, err := etree.CompilePath(path)
	if err != nil {
		return nil, fmt.Errorf("message %s derive %s: path %q: %w", name, op, path, err)
	}
	doc := etree.NewDocument()
	doc.ReadSettings.PreserveCData = true
	if err := doc.ReadFromBytes(base.body); err != nil {
		return nil, fmt.Errorf("message %s derive %s: %s is not XML: %w", name, op, base.name, err)
	}
	found := doc.FindElementsPath(p)
	if len(found) == 0 {
		return nil, fmt.Errorf("message %s derive %s: %s has no element %s", name, op, base.name, path)
	}
	if op == "drop" {
		found[0].Parent().RemoveChild(found[0])
	} else {
		value, ok := st.Opt("value")
		if !ok {
			return nil, fmt.Errorf("message %s derive set wants value=…", name)
		}
		for _, e := range found {
			e.SetText(value)
		}
	}
	out, err := doc.WriteToBytes()
	if err != nil {
		return nil, fmt.Errorf("message %s derive %s: %w", name, op, err)
	}
	return out, nil
}
