package xsd

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/knooppunt/knooppunt/bericht"
)

// Defaults for Config.
const (
	// DefaultMaxSize is the largest message accepted: 25 MiB, the limit the
	// standard sets for one message (OP179).
	DefaultMaxSize = 25 << 20
	// DefaultMaxViolations is how many XSD violations are kept per message;
	// the rest are only counted.
	DefaultMaxViolations = 100
)

// ErrClosed is returned by Validate on a Set that has been closed.
var ErrClosed = errors.New("xsd: schema set closed")

// Config says where the schemas come from and what the validator accepts.
// The zero value is the embedded schema set with the default limits.
type Config struct {
	// Dir, when set, is a directory holding a release bundle of XSDs, such as
	// an operator's official iWmo/iJw 3.2 schemas. Every *.xsd below it whose
	// targetNamespace is the namespace of a known berichtsoort is compiled
	// from its file, so its relative basisschema.xsd import resolves; other
	// files are left alone. Empty means the project's own embedded schema
	// set (bericht.SchemaFiles), which covers all 28 berichtsoorten.
	Dir string
	// MaxSize is the largest message accepted, in bytes. Default
	// DefaultMaxSize (25 MiB).
	MaxSize int64
	// MaxViolations is how many XSD violations Validate keeps per message;
	// Error.Omitted counts the rest. Default DefaultMaxViolations (100).
	MaxViolations int
	// Lazy compiles the schema of a berichtsoort when the first message of
	// that berichtsoort arrives instead of in Load: a command that checks a
	// few files and exits compiles one or two schemas, not all 28. Load then
	// only finds the schemas; one that does not compile refuses the
	// messages of its berichtsoort with CodeInternal. Default false: Load
	// compiles every schema, as a server wants before it takes messages.
	Lazy bool
}

func (c Config) withDefaults() Config {
	if c.MaxSize == 0 {
		c.MaxSize = DefaultMaxSize
	}
	if c.MaxViolations == 0 {
		c.MaxViolations = DefaultMaxViolations
	}
	return c
}

// Set is a compiled schema set: one schema per carried berichtsoort, keyed by
// the namespace of its root element. It is immutable once loaded and safe for
// concurrent use; Close stops running validations and waits for them.
type Set struct {
	cfg    Config
	source string // where the schemas came from, for messages

	// closing is raised by Close: running parses stop at their next
	// element, and new validations are refused.
	closing stopFlag
	mu      sync.RWMutex // read: Validate running; write: Close
	closed  bool
	schemas map[string]*entry // by namespace
	soorts  []bericht.Soort
}

// entry is the schema of one berichtsoort, compiled once: in Load, or on
// the first use of a Lazy set, under the process's compile lock. get runs
// only under the set's read lock or before the set is published, and free
// under its write lock, so no compilation races with freeing.
type entry struct {
	soort bericht.Soort
	build func() (schema, error) // compiles the schema and checks its target namespace
	once  sync.Once
	c     *compiled
	err   error
}

// get returns the compiled schema, compiling it on the first call.
func (e *entry) get() (*compiled, error) {
	e.once.Do(func() {
		sch, err := e.build()
		if err != nil {
			e.err = err
			return
		}
		e.c = newCompiled(sch, e.soort.Namespace, bericht.BasisNamespace(e.soort.Standard, e.soort.Release))
	})
	return e.c, e.err
}

// Load compiles the schemas cfg names, sequentially in the calling
// goroutine, after initialising libxml2; concurrent Loads are serialised.
// With cfg.Lazy it only finds them, and each is compiled on first use.
// To reload, Load a new Set, switch to it, and Close the old one.
func Load(cfg Config) (*Set, error) {
	cfg = cfg.withDefaults()
	if cfg.MaxSize < 0 || cfg.MaxViolations < 0 {
		return nil, fmt.Errorf("xsd: MaxSize (%d) and MaxViolations (%d) must not be negative", cfg.MaxSize, cfg.MaxViolations)
	}
	if cfg.Dir != "" {
		s, err := loadDir(cfg, cfg.Dir)
		if err != nil {
			return nil, err
		}
		s.source = cfg.Dir
		return s, nil
	}
	return loadEmbedded(cfg)
}

// loadEmbedded finds the message schemas among the embedded files. Each
// is compiled from a private temporary directory holding it and its
// basisschema (libxml2 resolves imports from files only), removed again
// once it is compiled: compiled schemas do not need their files.
func loadEmbedded(cfg Config) (*Set, error) {
	files := bericht.SchemaFiles()
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	s := &Set{cfg: cfg, source: "embedded", schemas: map[string]*entry{}}
	for _, name := range names {
		if path.Base(name) == basisschemaFile {
			continue
		}
		m := targetNamespaceAttr.FindSubmatch(files[name])
		if m == nil {
			continue
		}
		soort, ok := bericht.ByNamespace(string(m[1]))
		if !ok {
			continue
		}
		basis := path.Join(path.Dir(name), basisschemaFile)
		own := map[string][]byte{name: files[name], basis: files[basis]}
		s.add(soort, func() (schema, error) {
			sch, err := compileFiles(own, name)
			if err != nil {
				return schema{}, fmt.Errorf("xsd: embedded schema set: %w", err)
			}
			return checkTarget(sch, name, soort)
		})
	}
	if len(s.soorts) != len(bericht.All()) {
		return nil, fmt.Errorf("xsd: embedded schema set covers %d of %d berichtsoorten", len(s.soorts), len(bericht.All()))
	}
	return s.finish()
}

// basisschemaFile is the name under which the message schemas import their
// basisschema.
const basisschemaFile = "basisschema.xsd"

// compileFiles writes files (by slash-separated name) to a private
// temporary directory, compiles the one named main and removes the
// directory.
func compileFiles(files map[string][]byte, main string) (schema, error) {
	dir, err := os.MkdirTemp("", "knooppunt-xsd-")
	if err != nil {
		return schema{}, fmt.Errorf("writing schema %s: %w", main, err)
	}
	defer os.RemoveAll(dir)
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return schema{}, fmt.Errorf("writing schema %s: %w", name, err)
		}
		if err := os.WriteFile(p, data, 0o600); err != nil {
			return schema{}, fmt.Errorf("writing schema %s: %w", name, err)
		}
	}
	sch, problems := compile(filepath.Join(dir, filepath.FromSlash(main)))
	if sch.ptr == nil {
		return schema{}, fmt.Errorf("compiling schema %s: %s", main, describe(problems))
	}
	return sch, nil
}

// checkTarget frees sch and fails when its target namespace is not that of
// soort; name is the schema's file, for the message.
func checkTarget(sch schema, name string, soort bericht.Soort) (schema, error) {
	if tns := sch.targetNamespace(); tns != soort.Namespace {
		sch.free()
		return schema{}, fmt.Errorf("xsd: compiling schema %s: target namespace %q, want %q", name, tns, soort.Namespace)
	}
	return sch, nil
}

// targetNamespaceAttr finds the targetNamespace of a schema document
// without parsing it, to tell message schemas from the rest.
var targetNamespaceAttr = regexp.MustCompile(`targetNamespace\s*=\s*["']([^"']*)["']`)

func loadDir(cfg Config, dir string) (*Set, error) {
	var paths []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.EqualFold(filepath.Ext(path), ".xsd") {
			paths = append(paths, path)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("xsd: finding schemas in %s: %w", dir, err)
	}
	sort.Strings(paths)
	s := &Set{cfg: cfg, schemas: map[string]*entry{}}
	from := map[string]string{}
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("xsd: reading schema %s: %w", path, err)
		}
		m := targetNamespaceAttr.FindSubmatch(data)
		if m == nil {
			continue
		}
		soort, ok := bericht.ByNamespace(string(m[1]))
		if !ok {
			continue
		}
		if prev, dup := from[soort.Namespace]; dup {
			return nil, fmt.Errorf("xsd: %s and %s both define %s", prev, path, soort)
		}
		abs, err := filepath.Abs(path)
		if err != nil {
			return nil, fmt.Errorf("xsd: schema %s: %w", path, err)
		}
		from[soort.Namespace] = path
		s.add(soort, func() (schema, error) {
			sch, problems := compile(abs)
			if sch.ptr == nil {
				return schema{}, fmt.Errorf("xsd: compiling schema %s: %s", path, describe(problems))
			}
			return checkTarget(sch, path, soort)
		})
	}
	if len(s.schemas) == 0 {
		return nil, fmt.Errorf("xsd: no iWmo/iJw %s message schema found in %s", bericht.Release, dir)
	}
	return s.finish()
}

// add registers the schema of soort, compiled by build.
func (s *Set) add(soort bericht.Soort, build func() (schema, error)) {
	s.schemas[soort.Namespace] = &entry{soort: soort, build: build}
	s.soorts = append(s.soorts, soort)
}

// finish orders the berichtsoorten and, unless the set is lazy, compiles
// every schema now, in berichtsoort order.
func (s *Set) finish() (*Set, error) {
	sort.Slice(s.soorts, func(i, j int) bool {
		a, b := s.soorts[i], s.soorts[j]
		if a.Standard != b.Standard {
			return a.Standard == bericht.IWmo
		}
		return a.Number < b.Number
	})
	if s.cfg.Lazy {
		return s, nil
	}
	for _, soort := range s.soorts {
		if _, err := s.schemas[soort.Namespace].get(); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// describe renders libxml2's complaints about a schema.
func describe(problems []issue) string {
	if len(problems) == 0 {
		return "libxml2 gave no reason"
	}
	var b strings.Builder
	for i, p := range problems {
		if i > 0 {
			b.WriteString("; ")
		}
		if p.line > 0 {
			fmt.Fprintf(&b, "line %d: ", p.line)
		}
		b.WriteString(strings.TrimSpace(p.msg))
	}
	return b.String()
}

// Soorts returns the berichtsoorten the set carries, iWmo first, in
// message-number order.
func (s *Set) Soorts() []bericht.Soort { return append([]bericht.Soort(nil), s.soorts...) }

// Source says where the schemas came from: "embedded" or the directory.
func (s *Set) Source() string { return s.source }

// MaxSize is the largest message the set accepts, in bytes.
func (s *Set) MaxSize() int64 { return s.cfg.MaxSize }

// Close stops running validations and frees the compiled schemas once
// they have returned. It is safe to call more than once; Validate then
// returns ErrClosed.
func (s *Set) Close() error { return s.CloseContext(context.Background()) }

// CloseContext is Close that waits for running validations only until ctx
// ends. Their parsers stop at the next element they read, so the wait is
// at most the schema check of a document already parsed; if ctx ends
// first, the schemas are freed when the last validation returns and
// CloseContext reports that it did not wait for it.
func (s *Set) CloseContext(ctx context.Context) error {
	s.closing.raise()
	if s.mu.TryLock() { // nothing runs
		s.free()
		return nil
	}
	freed := make(chan struct{})
	go func() {
		defer close(freed)
		s.mu.Lock()
		s.free()
	}()
	select {
	case <-freed:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("xsd: closing: validations still running, schemas left to free when they return: %w", ctx.Err())
	}
}

// free frees the schemas once; s.mu is held for writing, and unlocked.
func (s *Set) free() {
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	for _, e := range s.schemas {
		if e.c != nil {
			e.c.free()
		}
	}
	s.schemas = nil
}
