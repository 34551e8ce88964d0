package stuf

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/knooppunt/knooppunt/xsd"
)

// schemaFS holds the project's own envelope schemas: soap.xsd (the SOAP
// request), ggk.xsd (Di01, Du01), stuf.xsd (stuurgegevens, Fo01, Fo03, Bv03)
// and xmime.xsd.
//
//go:embed schema/*.xsd
var schemaFS embed.FS

// SchemaFiles returns the envelope schemas by file name, for `knooppunt
// schemas` and for operators who want to validate their own envelopes.
func SchemaFiles() map[string][]byte {
	out := map[string][]byte{}
	entries, _ := schemaFS.ReadDir("schema")
	for _, e := range entries {
		b, _ := schemaFS.ReadFile("schema/" + e.Name())
		out[e.Name()] = b
	}
	return out
}

// Schema is the compiled envelope schema, compiled and applied by package
// xsd. It is safe for concurrent use; Close frees it and is safe to call
// twice.
type Schema struct {
	schema *xsd.Schema
}

// LoadSchema compiles the embedded envelope schemas. libxml2 resolves
// imports only from disk, so they are written to a temporary directory
// first, which is removed again.
func LoadSchema() (*Schema, error) {
	dir, err := os.MkdirTemp("", "knooppunt-stuf-xsd-")
	if err != nil {
		return nil, fmt.Errorf("loading envelope schema: %w", err)
	}
	defer os.RemoveAll(dir)
	for name, b := range SchemaFiles() {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			return nil, fmt.Errorf("loading envelope schema: writing %s: %w", name, err)
		}
	}
	return loadSchemaFile(filepath.Join(dir, "soap.xsd"))
}

func loadSchemaFile(path string) (*Schema, error) {
	s, err := xsd.CompileFile(path)
	if err != nil {
		return nil, fmt.Errorf("loading envelope schema %s: %w", filepath.Base(path), err)
	}
	return &Schema{schema: s}, nil
}

// Close frees the compiled schema. Safe to call twice.
func (s *Schema) Close() error { return s.schema.Close() }

// errSchemaClosed is returned by validate after Close.
var errSchemaClosed = errors.New("stuf: envelope schema closed")

// validate checks a whole SOAP request against the schema. It returns nil,
// or a RIN001 fault whose details list the violations with line and column
// (for the sender, never logged).
func (s *Schema) validate(msg []byte) error {
	if bytes.Contains(msg, []byte("<!DOCTYPE")) || bytes.Contains(msg, []byte("<!ENTITY")) {
		// No DTD: no XXE, no entity expansion. Base64 content holds no '<'.
		return &Fault{Code: CodeEnvelope, Place: PlaceClient, Description: "een DOCTYPE is niet toegestaan"}
	}
	err := s.schema.Validate(msg)
	if err == nil {
		return nil
	}
	if errors.Is(err, xsd.ErrClosed) {
		return errSchemaClosed
	}
	var e *xsd.Error
	if !errors.As(err, &e) || e.Code == xsd.CodeInternal {
		return fmt.Errorf("validating envelope: %w", err)
	}
	switch e.Code {
	case xsd.CodeDoctype:
		return &Fault{Code: CodeEnvelope, Place: PlaceClient, Description: "een DOCTYPE is niet toegestaan"}
	case xsd.CodeInvalid:
		return &Fault{Code: CodeEnvelope, Place: PlaceClient, Description: "de envelop voldoet niet aan het schema", Details: details(e)}
	case xsd.CodeNotUTF8:
		return &Fault{Code: CodeEnvelope, Place: PlaceClient, Description: "het SOAP-bericht is geen UTF-8"}
	default:
		return &Fault{Code: CodeEnvelope, Place: PlaceClient, Description: "het SOAP-bericht is geen well-formed XML"}
	}
}

// details lists a refusal's violations as the sender reads them.
func details(e *xsd.Error) string {
	msgs := make([]string, 0, len(e.Violations)+1)
	for _, v := range e.Violations {
		msgs = append(msgs, fmt.Sprintf("regel %d kolom %d: %s", v.Line, v.Column, v.Message))
	}
	if e.Omitted > 0 {
		msgs = append(msgs, fmt.Sprintf("en nog %d", e.Omitted))
	}
	return strings.Join(msgs, "; ")
}

// Validate checks a whole SOAP request against the envelope schema; a
// refusal is a RIN001 *Fault, whose Details list a schema violation's
// messages with line and column.
func (s *Schema) Validate(soapMsg []byte) error { return s.validate(soapMsg) }

// ValidateEnvelope checks one StUF-GGk element (a Di01, Du01 or Fo01, with
// or without XML declaration) by wrapping it in a SOAP body.
func (s *Schema) ValidateEnvelope(element []byte) error {
	if bytes.HasPrefix(element, []byte("<?xml")) {
		if end := bytes.Index(element, []byte("?>")); end > 0 {
			element = element[end+2:]
		}
	}
	msg := make([]byte, 0, len(element)+128)
	msg = append(msg, `<soap:Envelope xmlns:soap="`+NSSOAP+`"><soap:Body>`...)
	msg = append(msg, bytes.TrimSpace(element)...)
	msg = append(msg, `</soap:Body></soap:Envelope>`...)
	return s.validate(msg)
}
