package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"

	"github.com/knooppunt/knooppunt/rules"
	"github.com/knooppunt/knooppunt/xsd"
)

func init() {
	commands["check"] = command{
		summary: "check messages against the schemas and the level-2 rules (CD, CS, TR)",
		run:     runCheck,
	}
}

const checkUsage = `Usage: knooppunt check [--schemas DIR] [--json] FILE...

Checks each FILE ('-' for standard input) as the switch checks a heenbericht:
first as 'knooppunt validate' does (encoding, namespace, XML schema), then,
when the schema is met, against the level-2 rules of iWmo/iJw 3.2 — the
conditions, constraints and technical rules a message can break while it
matches its schema (docs/rules.md). A breach of one of them is answered with
a retourbericht carrying retourcode 0001.

Output, one line per file that keeps every rule and one per problem:
  FILE: ok iwmo 3.2 WMO301
  FILE:LINE: RULE (RETOURCODE) at PATH: what the rule demands
  FILE:LINE:COL: message            (an XSD violation, as validate prints it)
With --json, one JSON object per file instead.

Exit status: 0 all files keep every rule, 1 any file refused or breaking a
rule, 2 usage or I/O error.

Flags:
  --schemas DIR   load the message schemas found below DIR instead of the
                  embedded ones
  --json          print one JSON object per file
`

// checkResult is the verdict on one file, also its --json form.
type checkResult struct {
	fileResult
	Findings []jsonFinding `json:"findings,omitempty"`
}

type jsonFinding struct {
	Rule       string `json:"rule"`
	Retourcode string `json:"retourcode"`
	Path       string `json:"path"`
	Line       int    `json:"line"`
	Summary    string `json:"summary"`
}

func runCheck(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {}
	schemas := fs.String("schemas", "", "directory with a release bundle of XSDs")
	asJSON := fs.Bool("json", false, "one JSON object per file")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, checkUsage)
			return 0
		}
		fmt.Fprint(stderr, checkUsage)
		return 2
	}
	files := fs.Args()
	if len(files) == 0 {
		fmt.Fprint(stderr, "knooppunt check: no FILE given\n\n"+checkUsage)
		return 2
	}
	set, err := xsd.Load(xsd.Config{Dir: *schemas})
	if err != nil {
		fmt.Fprintf(stderr, "knooppunt check: %v\n", err)
		return 2
	}
	defer set.Close()

	stdinAt := slices.Index(files, "-") // the one '-' that reads standard input
	return printResults(stdout, stderr, "check", *asJSON, func(yield func(verdict) bool) {
		for i, name := range files {
			if !yield(checkFile(set, name, i == stdinAt, stdin)) {
				return
			}
		}
	})
}

func (r checkResult) base() *fileResult { return &r.fileResult }
func (r checkResult) failed() bool      { return !r.Valid || len(r.Findings) > 0 }

// text prints validate's lines for a file refused or keeping every rule,
// else a line per rule broken.
func (r checkResult) text(w io.Writer) {
	if !r.Valid || len(r.Findings) == 0 {
		r.fileResult.text(w)
		return
	}
	for _, f := range r.Findings {
		fmt.Fprintf(w, "%s:%d: %s (%s) at %s: %s\n", r.File, f.Line, f.Rule, f.Retourcode, f.Path, f.Summary)
	}
}

// checkFile reads one file (see readMessage), validates it and runs the
// rules on it.
func checkFile(set *xsd.Set, name string, firstStdin bool, stdin io.Reader) checkResult {
	var r checkResult
	var data []byte
	var err error
	r.File, data, err = readMessage(name, firstStdin, stdin, set.MaxSize())
	if err != nil {
		r.IOError = err.Error()
		return r
	}
	h, doc, err := set.ValidateTree(data)
	r.describe(h, err)
	if err != nil {
		return r
	}
	for _, f := range rules.Check(h, doc) {
		jf := jsonFinding{Rule: f.Rule, Retourcode: f.Retourcode, Path: f.Path, Line: f.Line}
		if rule, ok := rules.Lookup(f.Rule); ok {
			jf.Summary = rule.Summary
		}
		r.Findings = append(r.Findings, jf)
	}
	return r
}
