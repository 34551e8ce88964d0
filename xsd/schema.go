package xsd

import (
	"fmt"
	"path/filepath"
	"sync"
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

// utf8Only refuses what the parser must not see: an empty document, and
// one the shim would misread (notUTF8). A UTF-8 byte-order mark is allowed.
func utf8Only(doc []byte) *Error {
	if len(doc) == 0 {
		return refuse(CodeEmpty, "the document is empty")
	}
	return notUTF8(doc, "document")
}
