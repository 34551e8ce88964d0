package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"iter"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/xsd"
)

func init() {
	commands["validate"] = command{
		summary: "check messages against the iWmo/iJw 3.2 schemas",
		run:     runValidate,
	}
}

const validateUsage = `Usage: knooppunt validate [--schemas DIR] [--json] FILE...

Checks each FILE ('-' for standard input) as the switch checks a message it
receives: size, encoding, DOCTYPE, well-formedness, root namespace (standard,
release, berichtsoort), BerichtCode, and the berichtsoort's XML schema.

Output, one line per valid file and one per problem:
  FILE: ok iwmo 3.2 WMO301
  FILE:LINE:COL: message            (a violation with its position)
  FILE: code: message               (a refusal without a position)
With --json, one JSON object per file instead.

Exit status: 0 all files valid, 1 any file invalid, 2 usage or I/O error.

Flags:
  --schemas DIR   load the message schemas found below DIR (an official
                  release bundle) instead of the embedded ones
  --json          print one JSON object per file
  --jobs N        validate N files at a time (default: number of CPUs)
`

// fileResult is the verdict on one file, also its --json form.
type fileResult struct {
	File       string          `json:"file"`
	Valid      bool            `json:"valid"`
	Soort      string          `json:"soort,omitempty"` // "iwmo 3.2 WMO301"
	Header     *jsonHeader     `json:"header,omitempty"`
	Code       string          `json:"code,omitempty"`
	Detail     string          `json:"detail,omitempty"`
	Violations []jsonViolation `json:"violations,omitempty"`
	Omitted    int             `json:"omitted,omitempty"`
	IOError    string          `json:"io_error,omitempty"`
}

type jsonHeader struct {
	BerichtCode             string `json:"berichtCode,omitempty"`
	Afzender                string `json:"afzender,omitempty"`
	Ontvanger               string `json:"ontvanger,omitempty"`
	Identificatie           string `json:"identificatie,omitempty"`
	Dagtekening             string `json:"dagtekening,omitempty"`
	IdentificatieRetour     string `json:"identificatieRetour,omitempty"`
	DagtekeningRetour       string `json:"dagtekeningRetour,omitempty"`
	DeclaratieIdentificatie string `json:"declaratieIdentificatie,omitempty"`
}

type jsonViolation struct {
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Message string `json:"message"`
}

func runValidate(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {}
	schemas := fs.String("schemas", "", "directory with a release bundle of XSDs")
	asJSON := fs.Bool("json", false, "one JSON object per file")
	jobs := fs.Int("jobs", runtime.GOMAXPROCS(0), "files validated at a time")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, validateUsage)
			return 0
		}
		fmt.Fprint(stderr, validateUsage)
		return 2
	}
	files := fs.Args()
	if len(files) == 0 || *jobs < 1 {
		fmt.Fprint(stderr, "knooppunt validate: no FILE given\n\n"+validateUsage)
		return 2
	}

	set, err := xsd.Load(xsd.Config{Dir: *schemas, Lazy: true})
	if err != nil {
		fmt.Fprintf(stderr, "knooppunt validate: %v\n", err)
		return 2
	}
	defer set.Close()

	// Workers validate in parallel, each taking the next file by an atomic
	// counter. Results are printed in argument order, a batch at a time:
	// the printer wakes once per batch, not once per file.
	const batch = 64
	results := make([]fileResult, len(files))
	done := make([]sync.WaitGroup, (len(files)+batch-1)/batch)
	for k := range done {
		done[k].Add(min(batch, len(files)-k*batch))
	}
	var next atomic.Int64
	stdinAt := slices.Index(files, "-") // the one '-' that reads standard input
	workers := min(*jobs, len(files))
	// The workers spend nearly all their time in libxml2, in cgo calls of
	// tens of microseconds. With no P idle, the runtime's monitor hands the
	// P of such a call to a new spinning thread, on nearly every call; one
	// P more than there are workers keeps one idle, and it leaves them be.
	if runtime.GOMAXPROCS(0) <= workers {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(workers + 1))
	}
	for range workers {
		go func() {
			var mr msgReader
			for i := int(next.Add(1) - 1); i < len(files); i = int(next.Add(1) - 1) {
				results[i] = validateFile(set, &mr, files[i], i == stdinAt, stdin)
				done[i/batch].Done()
			}
		}()
	}
	// Close waits for validations still running should printing stop
	// early; the files not yet taken are then refused at once.
	defer next.Store(int64(len(files)))

	return printResults(stdout, stderr, "validate", *asJSON, func(yield func(verdict) bool) {
		for i := range files {
			if i%batch == 0 {
				done[i/batch].Wait()
			}
			if !yield(results[i]) {
				return
			}
		}
	})
}

// verdict is what validate and check report of one file.
type verdict interface {
	// base is the part both report: the file, its header, its refusal.
	base() *fileResult
	// failed reports a file that counts against the exit status.
	failed() bool
	// text writes the file's lines of the text output.
	text(w io.Writer)
}

// printResults prints each verdict in order — as one JSON object, or as
// its text lines, with I/O errors on stderr — and returns the exit status:
// 2 after an I/O error, else 1 if a file failed, else 0.
func printResults(stdout, stderr io.Writer, cmd string, asJSON bool, verdicts iter.Seq[verdict]) int {
	out := bufio.NewWriter(stdout)
	defer out.Flush()
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	status := 0
	for v := range verdicts {
		r := v.base()
		switch {
		case r.IOError != "":
			status = 2
		case v.failed() && status == 0:
			status = 1
		}
		if asJSON {
			if err := enc.Encode(v); err != nil {
				fmt.Fprintf(stderr, "knooppunt %s: %v\n", cmd, err)
				return 2
			}
			continue
		}
		if r.IOError != "" {
			out.Flush()
			fmt.Fprintf(stderr, "%s: %s\n", r.File, r.IOError)
			continue
		}
		v.text(out)
	}
	return status
}

func (r fileResult) base() *fileResult { return &r }
func (r fileResult) failed() bool      { return !r.Valid }

func (r fileResult) text(w io.Writer) {
	if r.Valid {
		fmt.Fprintf(w, "%s: ok %s\n", r.File, r.Soort)
		return
	}
	for _, v := range r.Violations {
		if v.Line > 0 {
			fmt.Fprintf(w, "%s:%d:%d: %s\n", r.File, v.Line, v.Column, v.Message)
		} else {
			fmt.Fprintf(w, "%s: %s: %s\n", r.File, r.Code, v.Message)
		}
	}
	if len(r.Violations) == 0 {
		fmt.Fprintf(w, "%s: %s: %s\n", r.File, r.Code, r.Detail)
	}
	if r.Omitted > 0 {
		fmt.Fprintf(w, "%s: %s: %d more violations not shown\n", r.File, r.Code, r.Omitted)
	}
}

// validateFile reads (see msgReader.read) and validates one file.
func validateFile(set *xsd.Set, mr *msgReader, name string, firstStdin bool, stdin io.Reader) fileResult {
	var r fileResult
	var data []byte
	var err error
	r.File, data, err = mr.read(name, firstStdin, stdin, set.MaxSize())
	if err != nil {
		r.IOError = err.Error()
		return r
	}
	h, err := set.Validate(data)
	r.describe(h, err)
	return r
}

// describe fills r from the outcome of validation: the header when the
// berichtsoort was recognised, and the refusal with its violations. Both
// validate and check report a file this way.
func (r *fileResult) describe(h bericht.Header, err error) {
	if h.Soort.Name != "" {
		r.Soort = h.Soort.String()
		r.Header = &jsonHeader{
			BerichtCode: h.BerichtCode, Afzender: h.Afzender, Ontvanger: h.Ontvanger,
			Identificatie: h.Identificatie, Dagtekening: h.Dagtekening,
			IdentificatieRetour: h.IdentificatieRetour, DagtekeningRetour: h.DagtekeningRetour,
			DeclaratieIdentificatie: h.DeclaratieIdentificatie,
		}
	}
	if err == nil {
		r.Valid = true
		return
	}
	var e *xsd.Error
	if !errors.As(err, &e) {
		r.IOError = err.Error()
		return
	}
	r.Code, r.Detail, r.Omitted = e.Code, e.Detail, e.Omitted
	for _, v := range e.Violations {
		r.Violations = append(r.Violations, jsonViolation{v.Line, v.Column, v.Message})
	}
}

// msgReader reads messages into one buffer that it reuses, so a worker
// validating thousands of files allocates nothing per file (and the
// collector has next to nothing to do). The bytes a read returns are valid
// until the next read.
type msgReader struct{ buf bytes.Buffer }

// read reads the file name, or standard input for "-", at most max+1 bytes
// (enough for Validate to refuse a message that is too large without
// reading all of it), and returns the name to report it by. Standard input
// is read for the first "-" among the arguments (firstStdin) and is an
// error for any later one, whatever order the files are read in.
func (mr *msgReader) read(name string, firstStdin bool, stdin io.Reader, max int64) (string, []byte, error) {
	mr.buf.Reset()
	switch {
	case name != "-":
		err := mr.readFile(name, max)
		return name, mr.buf.Bytes(), err
	case !firstStdin:
		return "<stdin>", nil, errors.New("standard input named twice")
	}
	if _, err := mr.buf.ReadFrom(io.LimitReader(stdin, max+1)); err != nil {
		return "<stdin>", nil, fmt.Errorf("reading: %w", err)
	}
	return "<stdin>", mr.buf.Bytes(), nil
}

// readFile reads a file into the buffer, growing it once when the file's
// size is known.
func (mr *msgReader) readFile(name string, max int64) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		mr.buf.Grow(int(min(fi.Size(), max)) + bytes.MinRead)
	}
	if _, err := mr.buf.ReadFrom(io.LimitReader(f, max+1)); err != nil {
		return fmt.Errorf("reading: %w", err)
	}
	return nil
}
