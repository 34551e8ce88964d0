package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

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
       knooppunt check --explain RULE

Checks each FILE ('-' for standard input) as the switch checks a heenbericht:
first as 'knooppunt validate' does (encoding, namespace, XML schema), then,
when the schema is met, against the rules of iWmo/iJw 3.2 that one message
decides — the conditions, constraints and technical rules a message can
break while it matches its schema, and the part of a few rules across
messages that one message shows (docs/rules.md). A breach is answered with a
retourbericht carrying retourcode 0001.

Output, one line per file that keeps every rule and one per problem:
  FILE: ok iwmo 3.2 WMO301
  FILE:LINE: RULE (RETOURCODE) at PATH: what is wrong, and where
  FILE:LINE:COL: message            (an XSD violation, as validate prints it)
With --json, one JSON object per file instead. What is wrong names the
elements involved with their lines and never quotes a value of the message.

--explain RULE prints the rule's official text (TR302, CD005, CS002, RS001),
what the switch does with it, and a message that breaks it and one that
keeps it; it needs no file.

Exit status: 0 all files keep every rule, 1 any file refused or breaking a
rule, 2 usage or I/O error, or an unknown RULE.

Flags:
  --schemas DIR   load the message schemas found below DIR instead of the
                  embedded ones
  --json          print one JSON object per file
  --explain RULE  explain the rule RULE instead of checking files
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
	// Text says what is wrong and where; Summary what the rule demands.
	Text    string `json:"text"`
	Summary string `json:"summary"`
}

func runCheck(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {}
	schemas := fs.String("schemas", "", "directory with a release bundle of XSDs")
	asJSON := fs.Bool("json", false, "one JSON object per file")
	explain := fs.String("explain", "", "explain the rule RULE")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, checkUsage)
			return 0
		}
		fmt.Fprint(stderr, checkUsage)
		return 2
	}
	files := fs.Args()
	if *explain != "" {
		if len(files) > 0 {
			fmt.Fprint(stderr, "knooppunt check: --explain takes no FILE\n\n"+checkUsage)
			return 2
		}
		if err := rules.Explain(stdout, *explain); err != nil {
			if errors.Is(err, rules.ErrUnknownRule) {
				fmt.Fprintf(stderr, "knooppunt check: no rule %q in iWmo 3.2 or iJw 3.2 (codes look like TR002, CD005, CS002, RS001)\n", strings.ToUpper(strings.TrimSpace(*explain)))
			} else {
				fmt.Fprintf(stderr, "knooppunt check: %v\n", err)
			}
			return 2
		}
		return 0
	}
	if len(files) == 0 {
		fmt.Fprint(stderr, "knooppunt check: no FILE given\n\n"+checkUsage)
		return 2
	}
	set, err := xsd.Load(xsd.Config{Dir: *schemas, Lazy: true})
	if err != nil {
		fmt.Fprintf(stderr, "knooppunt check: %v\n", err)
		return 2
	}
	defer set.Close()

	stdinAt := slices.Index(files, "-") // the one '-' that reads standard input
	var mr msgReader
	return printResults(stdout, stderr, "check", *asJSON, func(yield func(verdict) bool) {
		for i, name := range files {
			if !yield(checkFile(set, &mr, name, i == stdinAt, stdin)) {
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
		fmt.Fprintf(w, "%s:%d: %s (%s) at %s: %s\n", r.File, f.Line, f.Rule, f.Retourcode, f.Path, f.Text)
	}
}

// checkFile reads one file (see msgReader.read), validates it and runs the
// rules on it.
func checkFile(set *xsd.Set, mr *msgReader, name string, firstStdin bool, stdin io.Reader) checkResult {
	var r checkResult
	var data []byte
	var err error
	r.File, data, err = mr.read(name, firstStdin, stdin, set.MaxSize())
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
		jf := jsonFinding{Rule: f.Rule, Retourcode: f.Retourcode, Path: f.Path, Line: f.Line, Text: f.Text}
		if rule, ok := rules.Lookup(f.Rule); ok {
			jf.Summary = rule.Summary
		}
		r.Findings = append(r.Findings, jf)
	}
	return r
}
