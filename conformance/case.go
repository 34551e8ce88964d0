package conformance

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Ext is the file extension of a case.
const Ext = ".case"

// maxCaseSize bounds a case file: cases are small scripts.
const maxCaseSize = 1 << 20

// Case is one conformance case: a script of steps and the files it carries.
type Case struct {
	// Name is the file name without directory and extension.
	Name string
	// File is the path the case was read from, for reports.
	File string
	// Dir is the directory "file" messages are read relative to: in fsys
	// when the case was loaded from one, else on disk.
	Dir  string
	fsys fs.FS
	// Doc is the leading comment: what the case checks and why.
	Doc string
	// Requires lists the features the case needs of the switch or the run
	// (see Features); a case whose feature is missing is skipped.
	Requires []string
	// Steps are the directives in file order.
	Steps []Step
	// Files are the inline sections, by name.
	Files map[string][]byte
}

// Step is one directive line of a case.
type Step struct {
	// Line is the line number in the case file, for reports.
	Line int
	// Verb is the first word: message, post, expect, ….
	Verb string
	// Args are the positional words after the verb.
	Args []string
	// Opts are the key=value words after the verb.
	Opts map[string]string
	// Keys lists the keys of Opts in the order written.
	Keys []string
}

// Opt returns the value of key and whether it was given.
func (s Step) Opt(key string) (string, bool) {
	v, ok := s.Opts[key]
	return v, ok
}

// verbs are the directives a case may use, with the positional arguments
// each takes (min, max).
var verbs = map[string][2]int{
	"requires":   {1, 8},
	"message":    {2, 32},
	"post":       {2, 2},
	"batch":      {2, 2},
	"validate":   {2, 2},
	"poll":       {1, 1},
	"fetch":      {2, 2},
	"confirm":    {2, 2},
	"trace":      {2, 2},
	"retour":     {2, 2},
	"soap":       {3, 3},
	"wait-lease": {0, 0},
	"expect":     {1, 2},
}

// ParseError is a case file that cannot be read as a case.
type ParseError struct {
	File string
	Line int
	Msg  string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// Parse reads one case from data; file names it in errors and reports.
// It checks the syntax and the references between steps (a message is
// defined before use, every expect follows a request), not the meaning
// of the values, which the runner checks when it builds the messages.
func Parse(file string, data []byte) (*Case, error) {
	if len(data) > maxCaseSize {
		return nil, &ParseError{File: file, Line: 1, Msg: fmt.Sprintf("case larger than %d bytes", maxCaseSize)}
	}
	c := &Case{
		Name:  strings.TrimSuffix(filepath.Base(file), Ext),
		File:  file,
		Dir:   filepath.Dir(file),
		Files: map[string][]byte{},
	}
	fail := func(line int, format string, args ...any) error {
		return &ParseError{File: file, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	var doc []string
	inDoc := true
	section := ""
	var body []byte
	messages := map[string]bool{}
	requested := false
	endSection := func() {
		if section != "" {
			c.Files[section] = body
		}
	}
	for i, raw := range lines {
		n := i + 1
		text := strings.TrimRight(string(raw), "\r\n")
		if name, ok := sectionHeader(text); ok {
			endSection()
			if _, dup := c.Files[name]; dup {
				return nil, fail(n, "section %q defined twice", name)
			}
			section, body = name, []byte{}
			continue
		}
		if section != "" {
			body = append(body, raw...)
			continue
		}
		trimmed := strings.TrimSpace(text)
		if strings.HasPrefix(trimmed, "#") {
			if inDoc {
				doc = append(doc, strings.TrimSpace(strings.TrimPrefix(trimmed, "#")))
			}
			continue
		}
		if trimmed == "" {
			continue
		}
		inDoc = false
		words, err := splitWords(trimmed)
		if err != nil {
			return nil, fail(n, "%v", err)
		}
		st := Step{Line: n, Verb: words[0], Opts: map[string]string{}}
		for _, w := range words[1:] {
			if k, v, ok := strings.Cut(w, "="); ok && k != "" && !strings.ContainsAny(k, `"<>`) {
				if _, dup := st.Opts[k]; dup {
					return nil, fail(n, "%s given twice", k)
				}
				st.Opts[k] = v
				st.Keys = append(st.Keys, k)
				continue
			}
			if len(st.Keys) > 0 {
				return nil, fail(n, "argument %q after key=value options", w)
			}
			st.Args = append(st.Args, w)
		}
		span, ok := verbs[st.Verb]
		if !ok {
			return nil, fail(n, "unknown directive %q (want one of %s)", st.Verb, strings.Join(verbNames(), ", "))
		}
		if len(st.Args) < span[0] || len(st.Args) > span[1] {
			return nil, fail(n, "%s takes %d to %d arguments, got %d", st.Verb, span[0], span[1], len(st.Args))
		}
		switch st.Verb {
		case "requires":
			if len(c.Steps) > 0 {
				return nil, fail(n, "requires must come before the steps")
			}
			c.Requires = append(c.Requires, st.Args...)
			continue
		case "message":
			if messages[st.Args[0]] {
				return nil, fail(n, "message %q defined twice", st.Args[0])
			}
			for _, ref := range messageRefs(st) {
				if !messages[ref] {
					return nil, fail(n, "message %q is not defined before this line", ref)
				}
			}
			messages[st.Args[0]] = true
		case "post", "batch", "validate", "fetch", "confirm", "trace", "retour":
			if !messages[st.Args[1]] {
				return nil, fail(n, "message %q is not defined before this line", st.Args[1])
			}
			requested = true
		case "soap":
			if !messages[st.Args[2]] {
				return nil, fail(n, "message %q is not defined before this line", st.Args[2])
			}
			requested = true
		case "poll":
			requested = true
		case "expect":
			if !requested {
				return nil, fail(n, "expect without a request before it")
			}
			if _, err := strconv.Atoi(st.Args[0]); err != nil {
				return nil, fail(n, "expect wants an HTTP status first, got %q", st.Args[0])
			}
			for _, k := range []string{"bytes", "id", "listed", "absent", "retour"} {
				if v, ok := st.Opts[k]; ok && !messages[v] {
					return nil, fail(n, "message %q is not defined before this line", v)
				}
			}
		}
		c.Steps = append(c.Steps, st)
	}
	endSection()
	c.Doc = strings.TrimSpace(strings.Join(doc, "\n"))
	if len(c.Steps) == 0 {
		return nil, fail(1, "no steps")
	}
	for _, st := range c.Steps {
		if st.Verb == "message" && len(st.Args) >= 2 && st.Args[1] == "inline" {
			if _, ok := c.Files[st.Args[0]]; !ok {
				return nil, fail(st.Line, "inline message %q has no section -- %s --", st.Args[0], st.Args[0])
			}
		}
	}
	return c, nil
}

// messageRefs are the messages a message directive builds on.
func messageRefs(st Step) []string {
	var refs []string
	if len(st.Args) >= 3 {
		switch st.Args[1] {
		case "answer", "mutate", "derive":
			refs = append(refs, st.Args[2])
		case "zip":
			refs = append(refs, st.Args[2:]...)
		}
	}
	if v, ok := st.Opts["id"]; ok {
		refs = append(refs, v)
	}
	return refs
}

func verbNames() []string {
	names := make([]string, 0, len(verbs))
	for v := range verbs {
		names = append(names, v)
	}
	sort.Strings(names)
	return names
}

// sectionHeader recognises "-- name --".
func sectionHeader(line string) (string, bool) {
	if !strings.HasPrefix(line, "-- ") || !strings.HasSuffix(line, " --") || len(line) < 7 {
		return "", false
	}
	name := strings.TrimSpace(line[3 : len(line)-3])
	return name, name != "" && !strings.ContainsAny(name, " \t")
}

// splitWords splits a directive at blanks; a word (or the value of a
// key=value word) may be a Go-quoted string to hold blanks.
func splitWords(s string) ([]string, error) {
	var words []string
	for s != "" {
		s = strings.TrimLeft(s, " \t")
		if s == "" {
			break
		}
		end := 0
		for end < len(s) && s[end] != ' ' && s[end] != '\t' && s[end] != '"' {
			end++
		}
		word := s[:end]
		if end < len(s) && s[end] == '"' {
			q, err := strconv.QuotedPrefix(s[end:])
			if err != nil {
				return nil, fmt.Errorf("bad quoted string in %q", s)
			}
			u, _ := strconv.Unquote(q) // QuotedPrefix checked it
			word += u
			end += len(q)
			if end < len(s) && s[end] != ' ' && s[end] != '\t' {
				return nil, errors.New("a quoted string must end its word")
			}
		}
		words = append(words, word)
		s = s[end:]
	}
	return words, nil
}

// Load reads every case file (*.case) in dir, sorted by name.
func Load(dir string) ([]*Case, error) {
	return load(os.DirFS(dir), ".", dir, false)
}

// load reads the case files in dir of fsys; shown is the directory the
// cases' File names start with in reports. The "file" messages of
// embedded cases are read from fsys too, those of others from disk.
func load(fsys fs.FS, dir, shown string, embedded bool) ([]*Case, error) {
	names, err := fs.Glob(fsys, path.Join(dir, "*"+Ext))
	if err != nil {
		return nil, fmt.Errorf("listing cases in %s: %w", shown, err)
	}
	sort.Strings(names)
	var cases []*Case
	var errs []error
	for _, name := range names {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			errs = append(errs, fmt.Errorf("reading case: %w", err))
			continue
		}
		c, err := Parse(filepath.Join(shown, path.Base(name)), data)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if embedded {
			c.fsys, c.Dir = fsys, path.Dir(name)
		}
		cases = append(cases, c)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if len(cases) == 0 {
		return nil, fmt.Errorf("no %s files in %s", Ext, shown)
	}
	return cases, nil
}
