package stuf

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/lestrrat-go/libxml2"
	"github.com/lestrrat-go/libxml2/parser"
	libxsd "github.com/lestrrat-go/libxml2/xsd"
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

// compileMu serialises schema compilation: libxml2's schema parser is not
// safe to run concurrently with itself.
var compileMu sync.Mutex

// Schema is the compiled envelope schema. It is safe for concurrent use;
// Close frees it and is safe to call twice.
type Schema struct {
	mu     sync.RWMutex
	schema *libxsd.Schema
}

// LoadSchema compiles the embedded envelope schemas. libxml2 resolves
// imports only from disk, so they are written to a temporary directory
// first, which is removed again. Call it at start-up, not concurrently
// with the first use of libxml2 elsewhere.
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
	compileMu.Lock()
	defer compileMu.Unlock()
	s, err := libxsd.ParseFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("compiling schema %s: %w", filepath.Base(path), err)
	}
	return &Schema{schema: s}, nil
}

// Close frees the compiled schema. Safe to call twice.
func (s *Schema) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.schema != nil {
		s.schema.Free()
		s.schema = nil
	}
	return nil
}

// errSchemaClosed is returned by validate after Close.
var errSchemaClosed = errors.New("stuf: envelope schema closed")

// parseOptions forbid network access and keep libxml2's messages off stderr.
const parseOptions = parser.XMLParseNoNet | parser.XMLParseNoError | parser.XMLParseNoWarning

// validate checks a whole SOAP request against the schema. It returns nil,
// or a RIN001 fault whose details list libxml2's messages (for the sender,
// never logged).
func (s *Schema) validate(msg []byte) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.schema == nil {
		return errSchemaClosed
	}
	if bytes.Contains(msg, []byte("<!DOCTYPE")) || bytes.Contains(msg, []byte("<!ENTITY")) {
		// No DTD: no XXE, no entity expansion. Base64 content holds no '<'.
		return &Fault{Code: CodeEnvelope, Place: PlaceClient, Description: "een DOCTYPE is niet toegestaan"}
	}
	doc, err := libxml2.Parse(msg, parseOptions)
	if err != nil {
		return &Fault{Code: CodeEnvelope, Place: PlaceClient, Description: "het SOAP-bericht is geen well-formed XML"}
	}
	defer doc.Free()
	if err := s.schema.Validate(doc); err != nil {
		f := &Fault{Code: CodeEnvelope, Place: PlaceClient, Description: "de envelop voldoet niet aan het schema"}
		var ve libxsd.SchemaValidationError
		if errors.As(err, &ve) {
			msgs := make([]string, 0, len(ve.Errors()))
			for _, e := range ve.Errors() {
				msgs = append(msgs, strings.TrimSpace(e.Error()))
			}
			f.Details = strings.Join(msgs, "; ")
		}
		return f
	}
	return nil
}

// Validate checks a whole SOAP request against the envelope schema; a
// refusal is a RIN001 *Fault whose Details hold libxml2's messages.
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
