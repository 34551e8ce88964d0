package xsd

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"unicode/utf8"
)

// Schema is one XSD compiled from a file, for documents other than the
// iWmo and iJw messages a Set carries: the StUF-GGk SOAP envelope, the
// samenloop signal, or an official schema a test holds messages to. It is
// compiled under the same lock and validates through the same shim as a
// Set, so libxml2 has one binding and one compile lock in the process.
//
// A Schema is safe for concurrent use; Close waits for running validations.
type Schema struct {
	mu     sync.RWMutex // read: Validate running; write: Close
	closed bool
	schema schema
}

// CompileFile compiles the XSD at path. libxml2 resolves its imports and
// includes from disk, relative to the file, so a schema held in memory must
// be written to a directory first; the compiled Schema no longer needs the
// files. An error names the file and libxml2's first complaints.
func CompileFile(path string) (*Schema, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("xsd: compiling schema %s: %w", path, err)
	}
	sch, problems := compile(abs)
	if sch.ptr == nil {
		return nil, fmt.Errorf("xsd: compiling schema %s: %s", path, describe(problems))
	}
	return &Schema{schema: sch}, nil
}

// Validate parses doc and checks it against the schema. It returns nil
// when doc is valid, ErrClosed after Close, and otherwise an *Error whose
// Code is one of:
//
//	CodeEmpty          doc is empty
//	CodeNotUTF8        UTF-16 or UTF-32, invalid UTF-8, or an XML declaration naming another encoding
//	CodeDoctype        a DOCTYPE: the parser stops before reading it, so no entity is ever expanded
//	CodeNotWellFormed  not (namespace-)well-formed XML; one violation with line and column
//	CodeInvalid        schema violations, each placed at its element's start tag, up to DefaultMaxViolations
//	CodeInternal       libxml2 failed (out of memory)
//
// The parser never reads from the network. As with Set.Validate, a
// Violation's Message may quote a value of the document; Redacted does not.
func (s *Schema) Validate(doc []byte) error {
	if e := utf8Only(doc); e != nil {
		return e
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}

	is := newIssues(maxViolationsParsed)
	d := parse(doc, is, nil, nil)
	defer d.free()
	if !d.ok() {
		found, _ := is.take()
		if d.doctype() {
			return refuse(CodeDoctype, "the document has a document type declaration (DOCTYPE); DTDs and entities are not accepted")
		}
		e := refuse(CodeNotWellFormed, "the document is not well-formed XML")
		e.Violations = parseViolations(doc, found)
		return e
	}
	is.free()

	is = newIssues(DefaultMaxViolations)
	rc := d.validate(s.schema, is)
	found, total := is.take()
	switch {
	case rc == 0:
		return nil
	case len(found) == 0 && rc < 0:
		return refuse(CodeInternal, "libxml2 could not validate the document")
	}
	e := refuse(CodeInvalid, "the document does not match the schema")
	e.Violations = schemaViolations(doc, found)
	e.Omitted = total - len(found)
	return e
}

// Close frees the compiled schema after waiting for running validations.
// It is safe to call more than once; Validate then returns ErrClosed.
func (s *Schema) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		s.schema.free()
	}
	return nil
}

// utf8Only refuses what the parser must not see: the shim reads every
// document as UTF-8, whatever its XML declaration says, so anything else
// is refused rather than misread. A UTF-8 byte-order mark is allowed.
func utf8Only(doc []byte) *Error {
	switch {
	case len(doc) == 0:
		return refuse(CodeEmpty, "the document is empty")
	case len(doc) >= 2 && (doc[0] == 0 || doc[1] == 0 || (doc[0] == 0xFE && doc[1] == 0xFF) || (doc[0] == 0xFF && doc[1] == 0xFE)):
		return refuse(CodeNotUTF8, "the document is UTF-16 or UTF-32, not UTF-8")
	}
	if !utf8.Valid(doc) {
		e := refuse(CodeNotUTF8, "the document is not valid UTF-8")
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
		return refuse(CodeNotUTF8, "the XML declaration names encoding %q; only UTF-8 is accepted", enc)
	}
	return nil
}
