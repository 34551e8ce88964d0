package xsd

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/knooppunt/knooppunt/bericht"
)

// Refusal codes: Error.Code takes one of these. They are stable; the HTTP
// API exposes them. The package documentation lists them in the order
// Validate checks them.
const (
	CodeEmpty          = "empty"
	CodeTooLarge       = "too-large"
	CodeByteOrderMark  = "byte-order-mark"
	CodeNotUTF8        = "not-utf8"
	CodeDoctype        = "doctype"
	CodeNotWellFormed  = "not-well-formed"
	CodeNotBericht     = "not-bericht"
	CodeUnknownNS      = "unknown-namespace"
	CodeUnknownRelease = "unsupported-release"
	CodeNotCarried     = "not-carried"
	CodeBerichtCode    = "berichtcode-mismatch"
	CodeInvalid        = "xsd-invalid"
	CodeInternal       = "internal"
)

const (
	// maxNameInDetail bounds a name or namespace quoted in Error.Detail.
	maxNameInDetail = 200
	// maxViolationsParsed: the parser stops at its first fatal error, and
	// that one is the error worth reporting.
	maxViolationsParsed = 1
)

// Error is a refused message: a stable Code, a Detail sentence and, for
// CodeNotWellFormed, CodeNotUTF8 and CodeInvalid, the Violations with their
// positions. Neither Code, Detail nor Error() ever quotes a value from the
// message; Violation.Message may (see Violation).
type Error struct {
	Code       string
	Detail     string
	Violations []Violation
	// Omitted counts the violations beyond Config.MaxViolations that were
	// found but not kept.
	Omitted int
}

// Violation is one problem at one place in a message.
type Violation struct {
	// Line and Column are 1-based and count characters, not bytes; for an
	// XSD violation they point at the '<' of the offending element's start
	// tag. 0 when unknown.
	Line, Column int
	// Message is libxml2's text, e.g. "Element '{…}Bsn': [facet 'pattern']
	// The value '12345678' is not accepted by the pattern '[0-9]{9}'." It
	// may quote a value of the message, such as a BSN or a name: show it to
	// the sender only.
	Message string
	// Redacted is Message with every value of the message, and every
	// element, attribute or prefix name and namespace that is not the
	// standard's, replaced by '…': safe for logs, metrics and third
	// parties. The standard's element names are kept: they help the sender.
	Redacted string
}

// Error implements error with the code, the detail and the first
// violation's redacted text.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("xsd: ")
	b.WriteString(e.Code)
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	if len(e.Violations) > 0 {
		v := e.Violations[0]
		fmt.Fprintf(&b, " (line %d, column %d: %s", v.Line, v.Column, v.Redacted)
		if n := len(e.Violations) + e.Omitted - 1; n > 0 {
			fmt.Fprintf(&b, "; and %d more", n)
		}
		b.WriteString(")")
	}
	return b.String()
}

func refuse(code, format string, args ...any) *Error {
	return &Error{Code: code, Detail: fmt.Sprintf(format, args...)}
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// precheck refuses, before libxml2 sees it, what must never reach the
// parser. Every refusal but an empty message's carries the position it
// concerns.
func (s *Set) precheck(msg []byte) *Error {
	switch {
	case len(msg) == 0:
		return refuse(CodeEmpty, "the message is empty")
	case int64(len(msg)) > s.cfg.MaxSize:
		// At the first byte past the limit.
		return at(msg, int(s.cfg.MaxSize), CodeTooLarge, "the message is %d bytes, more than the limit of %d", len(msg), s.cfg.MaxSize)
	case bytes.HasPrefix(msg, utf8BOM):
		return at(msg, 0, CodeByteOrderMark, "the message starts with a UTF-8 byte-order mark")
	}
	if e := notUTF8(msg, "message"); e != nil {
		return e
	}
	return Prescan(msg, MessageBounds())
}

// notUTF8 refuses a document (what it is called in the refusal) that the
// parser would misread: the shim reads every document as UTF-8, whatever
// its XML declaration says. It refuses UTF-16 and UTF-32, invalid UTF-8
// and a declaration naming another encoding, each at its position.
func notUTF8(doc []byte, what string) *Error {
	if len(doc) >= 2 && (doc[0] == 0 || doc[1] == 0 || (doc[0] == 0xFE && doc[1] == 0xFF) || (doc[0] == 0xFF && doc[1] == 0xFE)) {
		return at(doc, 0, CodeNotUTF8, "the %s is UTF-16 or UTF-32, not UTF-8", what)
	}
	if !utf8.Valid(doc) {
		e := refuse(CodeNotUTF8, "the %s is not valid UTF-8", what)
		off := invalidUTF8(doc)
		line, col := position(doc, off)
		text := fmt.Sprintf("invalid UTF-8 byte 0x%02X", doc[off])
		e.Violations = []Violation{{Line: line, Column: col, Message: text, Redacted: text}}
		return e
	}
	if enc, ok := declaredEncoding(doc); ok && !strings.EqualFold(enc, "UTF-8") {
		if len(enc) > maxNameInDetail {
			enc = enc[:maxNameInDetail]
		}
		return at(doc, bytes.Index(doc, []byte("encoding")), CodeNotUTF8, "the XML declaration names encoding %q; only UTF-8 is accepted", enc)
	}
	return nil
}

// atOffset is at for an offset that may be unknown (negative or past the
// message): the refusal then has no position.
func atOffset(msg []byte, off int, code, format string, args ...any) *Error {
	e := refuse(code, format, args...)
	placeAt(e, msg, off)
	return e
}

// placeAt gives refusal e one violation, its Detail, at byte offset off of
// msg, when off lies in msg.
func placeAt(e *Error, msg []byte, off int) {
	if off < 0 || off >= len(msg) {
		return
	}
	line, col := position(msg, off)
	e.Violations = []Violation{{Line: line, Column: col, Message: e.Detail, Redacted: e.Detail}}
}

// atRoot is a refusal placed at the start tag of d's root element.
func atRoot(msg []byte, d *document, code, format string, args ...any) *Error {
	return atOffset(msg, d.rootOffset(), code, format, args...)
}

// doctypeOffset is the offset of the document type declaration that
// stopped the parser: the first "<!DOCTYPE" outside comments and
// processing instructions of the prolog; -1 if none is found.
func doctypeOffset(msg []byte) int {
	for i := 0; i < len(msg); {
		j := bytes.IndexByte(msg[i:], '<')
		if j < 0 {
			return -1
		}
		i += j
		rest := msg[i:]
		switch {
		case bytes.HasPrefix(rest, []byte("<!--")):
			end := bytes.Index(rest[4:], []byte("-->"))
			if end < 0 {
				return -1
			}
			i += 4 + end + 3
		case bytes.HasPrefix(rest, []byte("<?")):
			end := bytes.Index(rest[2:], []byte("?>"))
			if end < 0 {
				return -1
			}
			i += 2 + end + 2
		case bytes.HasPrefix(rest, []byte("<!DOCTYPE")):
			return i
		default:
			return -1 // an element: the prolog is over
		}
	}
	return -1
}

func invalidUTF8(msg []byte) int {
	for off := 0; off < len(msg); {
		r, n := utf8.DecodeRune(msg[off:])
		if r == utf8.RuneError && n <= 1 {
			return off
		}
		off += n
	}
	return 0
}

// declaredEncoding returns the encoding named in the XML declaration, if the
// message starts with one that names an encoding.
func declaredEncoding(msg []byte) (string, bool) {
	if len(msg) < 6 || !bytes.HasPrefix(msg, []byte("<?xml")) || !isSpace(msg[5]) {
		return "", false
	}
	decl := msg[:min(len(msg), 512)]
	end := bytes.Index(decl, []byte("?>"))
	if end < 0 {
		return "", false
	}
	decl = decl[:end]
	i := bytes.Index(decl, []byte("encoding"))
	if i < 0 {
		return "", false
	}
	rest := bytes.TrimLeft(decl[i+len("encoding"):], " \t\r\n")
	if len(rest) == 0 || rest[0] != '=' {
		return "", false
	}
	rest = bytes.TrimLeft(rest[1:], " \t\r\n")
	if len(rest) == 0 || (rest[0] != '"' && rest[0] != '\'') {
		return "", false
	}
	q := rest[0]
	j := bytes.IndexByte(rest[1:], q)
	if j < 0 {
		return "", false
	}
	return string(rest[1 : 1+j]), true
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// Validate checks msg and returns its header. Refusals are *Error values
// with the codes in the package documentation, checked in that order; on
// CodeBerichtCode and CodeInvalid the header is returned as far as it was
// found, so a retourbericht can still be addressed. Validate is safe for
// concurrent use; after Close it returns ErrClosed.
func (s *Set) Validate(msg []byte) (bericht.Header, error) {
	return s.validate(context.Background(), msg, nil)
}

// ValidateContext is Validate that gives up when ctx ends: the parser
// stops at the next element it reads, and the schema check of a document
// already built runs to its end but no further step starts. The error
// then wraps ctx.Err().
func (s *Set) ValidateContext(ctx context.Context, msg []byte) (bericht.Header, error) {
	return s.validate(ctx, msg, nil)
}

// abandoned is the error of a validation given up because ctx ended.
func abandoned(ctx context.Context) error {
	return fmt.Errorf("xsd: validation abandoned: %w", context.Cause(ctx))
}

// validate is Validate; a valid document is handed to walk (if not nil) before it is freed.
func (s *Set) validate(ctx context.Context, msg []byte, walk func(*document)) (bericht.Header, error) {
	if e := s.precheck(msg); e != nil {
		return bericht.Header{}, e
	}
	if ctx.Err() != nil {
		return bericht.Header{}, abandoned(ctx)
	}
	if s.closing.raised() {
		return bericht.Header{}, ErrClosed
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return bericht.Header{}, ErrClosed
	}

	// The parser stops at its next element once the caller gives up or
	// the set closes.
	var gaveUp *stopFlag
	if ctx.Done() != nil {
		gaveUp = &stopFlag{}
		defer context.AfterFunc(ctx, gaveUp.raise)()
	}
	is := newIssues(maxViolationsParsed)
	d := parse(msg, is, &s.closing, gaveUp)
	defer d.free()
	if d.stopped() || ctx.Err() != nil {
		is.free()
		if ctx.Err() == nil {
			return bericht.Header{}, ErrClosed
		}
		return bericht.Header{}, abandoned(ctx)
	}
	if !d.ok() {
		found, _ := is.take()
		if d.doctype() {
			return bericht.Header{}, atOffset(msg, doctypeOffset(msg), CodeDoctype, "the message has a document type declaration (DOCTYPE); DTDs and entities are not accepted")
		}
		e := refuse(CodeNotWellFormed, "the message is not well-formed XML")
		e.Violations = parseViolations(msg, found)
		return bericht.Header{}, e
	}
	is.free()

	name, ns := d.root()
	if name != "Bericht" {
		if !standardNames()[name] { // the sender's own name: it may name a person
			return bericht.Header{}, atRoot(msg, d, CodeNotBericht, "the root element is not Bericht")
		}
		return bericht.Header{}, atRoot(msg, d, CodeNotBericht, "the root element is %q, not Bericht", name)
	}
	soort, ok := bericht.ByNamespace(ns)
	if !ok {
		e := unknownNamespace(ns)
		placeAt(e, msg, d.rootOffset())
		return bericht.Header{}, e
	}
	carried := s.schemas[ns]
	if carried == nil {
		return bericht.Header{Soort: soort}, atRoot(msg, d, CodeNotCarried, "%s is not in this switch's schema set", soort)
	}
	c, err := carried.get()
	if err != nil {
		return bericht.Header{Soort: soort}, refuse(CodeInternal, "the schema of %s does not compile: %v", soort, err)
	}

	f, off := d.headerOf(c)
	h := bericht.Header{
		Soort:                   soort,
		BerichtCode:             f[hBerichtCode],
		Afzender:                f[hAfzender],
		Ontvanger:               f[hOntvanger],
		Identificatie:           f[hIdentificatie],
		Dagtekening:             f[hDagtekening],
		BasisschemaXsdVersie:    f[hBasisschemaXsdVersie],
		BerichtXsdVersie:        f[hBerichtXsdVersie],
		IdentificatieRetour:     f[hIdentificatieRetour],
		DagtekeningRetour:       f[hDagtekeningRetour],
		DeclaratieIdentificatie: f[hDeclaratieIdentificatie],
		DeclaratieDagtekening:   f[hDeclaratieDagtekening],
	}
	if code := strings.TrimSpace(h.BerichtCode); code != "" && code != soort.Code {
		where := off[hBerichtCode]
		if !digits.MatchString(code) { // not a code but a value, which may be personal
			return h, atOffset(msg, where, CodeBerichtCode, "BerichtCode is not %s, the code of the root namespace's %s", soort.Code, soort)
		}
		return h, atOffset(msg, where, CodeBerichtCode, "BerichtCode %q does not match the root namespace: %s has BerichtCode %s", code, soort, soort.Code)
	}

	if ctx.Err() != nil {
		return h, abandoned(ctx)
	}
	is = newIssues(s.cfg.MaxViolations)
	rc := d.validate(c.schema, is)
	found, total := is.take()
	if rc == 0 {
		if walk != nil {
			walk(d)
		}
		return h, nil
	}
	if len(found) == 0 {
		if rc < 0 {
			return h, refuse(CodeInternal, "libxml2 could not validate the message against %s", soort)
		}
		return h, refuse(CodeInvalid, "the message does not match the schema of %s", soort)
	}
	e := refuse(CodeInvalid, "the message does not match the schema of %s", soort)
	e.Violations = schemaViolations(msg, found)
	e.Omitted = total - len(found)
	return h, e
}

// releaseNS recognises an iStandaarden namespace, to tell another release of
// a known standard from a namespace the switch has never heard of.
var releaseNS = regexp.MustCompile(`^http://www\.istandaarden\.nl/(iwmo|ijw)/([0-9]+)_([0-9]+)/([a-z]+[0-9]*)/schema$`)

func unknownNamespace(ns string) *Error {
	if ns == "" {
		return refuse(CodeUnknownNS, "the root element Bericht has no namespace")
	}
	if m := releaseNS.FindStringSubmatch(ns); m != nil {
		if release := m[2] + "." + m[3]; release != bericht.Release {
			return refuse(CodeUnknownRelease, "%s release %s is not carried; this switch carries release %s", m[1], release, bericht.Release)
		}
	}
	if !releaseNS.MatchString(ns) { // the sender's own namespace: it may name a person
		return refuse(CodeUnknownNS, "the namespace of Bericht is not that of an iWmo or iJw %s message", bericht.Release)
	}
	return refuse(CodeUnknownNS, "the namespace %q is not that of an iWmo or iJw %s message", clip(ns), bericht.Release)
}

// digits matches a BerichtCode that is a code, fit to be quoted back.
var digits = regexp.MustCompile(`^[0-9]{1,4}$`)

// clip copies s (which may point into C memory) and cuts it to a length fit
// for a message.
func clip(s string) string {
	if len(s) > maxNameInDetail {
		s = s[:maxNameInDetail] + "…"
	}
	return strings.ToValidUTF8(strings.Clone(s), "?")
}

// quoted matches a single-quoted stretch of a libxml2 parser message.
var quoted = regexp.MustCompile(`'[^']*'`)

func parseViolations(msg []byte, found []issue) []Violation {
	if len(found) == 0 {
		return []Violation{{Message: "libxml2 refused the document", Redacted: "libxml2 refused the document"}}
	}
	out := make([]Violation, len(found))
	for i, f := range found {
		// libxml2's text may carry whatever it was reading: the redacted
		// one is a sentence of our own (redact.go).
		m := clean(f.msg)
		out[i] = Violation{Line: f.line, Column: f.col, Message: m, Redacted: parseSentence(f.code, m)}
	}
	return out
}

// schemaViolations turns the validator's errors into violations, placing
// each at its element's start tag.
func schemaViolations(msg []byte, found []issue) []Violation {
	names, namespaces := foreignNames(msg)
	out := make([]Violation, len(found))
	for i, f := range found {
		m := clean(f.msg)
		out[i] = Violation{Line: f.line, Column: f.col, Message: m, Redacted: keepStandardQuotes(redactNames(redact(m, f.value), names, namespaces))}
	}
	// Offsets to positions in one sweep over the message.
	order := make([]int, 0, len(found))
	for i, f := range found {
		if f.offset >= 0 && f.offset < len(msg) {
			order = append(order, i)
		}
	}
	sort.SliceStable(order, func(a, b int) bool { return found[order[a]].offset < found[order[b]].offset })
	line, lineStart, at := 1, 0, 0
	for _, i := range order {
		off := found[i].offset
		seg := msg[at:off]
		if n := bytes.Count(seg, []byte{'\n'}); n > 0 {
			line += n
			lineStart = at + bytes.LastIndexByte(seg, '\n') + 1
		}
		at = off
		out[i].Line = line
		out[i].Column = utf8.RuneCount(msg[lineStart:off]) + 1
	}
	return out
}

// position returns the 1-based line and column of byte offset off.
func position(msg []byte, off int) (line, col int) {
	before := msg[:off]
	start := bytes.LastIndexByte(before, '\n') + 1
	return bytes.Count(before, []byte{'\n'}) + 1, utf8.RuneCount(before[start:]) + 1
}

// clean trims libxml2's trailing newline and turns control characters
// (which a quoted value may carry) into spaces, so a message is one line.
func clean(m string) string {
	m = strings.TrimSpace(m)
	if strings.IndexFunc(m, isControl) < 0 {
		return m
	}
	return strings.Map(func(r rune) rune {
		if isControl(r) {
			return ' '
		}
		return r
	}, m)
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7F }

// redact replaces the offending node's value, as libxml2 quotes it, by '…'.
// libxml2 quotes the value as found or whitespace-normalised; as a last
// resort anything from the value's first bytes onwards is cut off.
func redact(m, value string) string {
	value = clean(value)
	if strings.TrimSpace(value) == "" {
		return m
	}
	for _, v := range []string{value, strings.TrimSpace(value), strings.Join(strings.Fields(value), " ")} {
		m = strings.ReplaceAll(m, "'"+v+"'", "'…'")
	}
	probe := strings.Join(strings.Fields(value), " ")
	if len(probe) > 16 {
		probe = probe[:16]
	}
	if len(probe) >= 3 {
		if i := strings.Index(m, probe); i >= 0 {
			m = m[:i] + "…"
		}
	}
	return m
}
