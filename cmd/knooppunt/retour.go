package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/knooppunt/knooppunt/retour"
	"github.com/knooppunt/knooppunt/xsd"
)

func init() {
	commands["retour"] = command{
		summary: "build the retourbericht (or 325) a recipient sends",
		run:     runRetour,
	}
}

const retourUsage = `Usage: knooppunt retour build --heen FILE [--codes FILE] [--out FILE]
                              [--id ID] [--date YYYY-MM-DD] [--xslt VERSION]

Builds the answer to a heenbericht as the standard constructs it: the
retourbericht of a 301, 305, 307, 315, 317 or 319, or the 325 of a 323.
The heenbericht must be valid against its XSD. The codes file (YAML, see
retour/README.md) says which classes broke which rules; without it, or
when it is empty, the message is accepted in full (a 323 gets 8001).
The answer is checked against its own XSD before it is written.

Flags:
  --heen FILE     the heenbericht ('-' for standard input)
  --codes FILE    the outcome of the checks (YAML)
  --out FILE      where to write the answer (default standard output)
  --id ID         the answer's identificatie (default a new K… id)
  --date DATE     its date (default today)
  --xslt VERSION  XsltVersie, when the checks were the official XSLTs

Exit status: 0 written, 1 the heenbericht or codes are refused, 2 usage or
I/O error.
`

func runRetour(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 && isHelp(args[0]) {
		fmt.Fprint(stdout, retourUsage)
		return 0
	}
	if len(args) == 0 || args[0] != "build" {
		fmt.Fprint(stderr, retourUsage)
		return 2
	}
	fs := flag.NewFlagSet("retour build", flag.ContinueOnError)
	heenPath := fs.String("heen", "", "")
	codesPath := fs.String("codes", "", "")
	outPath := fs.String("out", "", "")
	id := fs.String("id", "", "")
	date := fs.String("date", "", "")
	xslt := fs.String("xslt", "", "")
	usage := func(w io.Writer) { fmt.Fprint(w, retourUsage) }
	if code, done := parseFlags(fs, args[1:], usage, stdout, stderr); done {
		return code
	}
	if *heenPath == "" || fs.NArg() > 0 {
		fmt.Fprint(stderr, retourUsage)
		return 2
	}
	opt := retour.Options{Identificatie: *id, XsltVersie: *xslt}
	if *date != "" {
		d, err := time.Parse("2006-01-02", *date)
		if err != nil {
			fmt.Fprintf(stderr, "knooppunt retour: --date %q is not YYYY-MM-DD\n", *date)
			return 2
		}
		opt.Date = d
	}
	heen, err := readRetourInput(*heenPath, stdin)
	if err != nil {
		fmt.Fprintf(stderr, "knooppunt retour: reading heenbericht: %v\n", err)
		return 2
	}
	codes := &retour.Codes{}
	if *codesPath != "" {
		data, err := os.ReadFile(*codesPath)
		if err != nil {
			fmt.Fprintf(stderr, "knooppunt retour: reading codes: %v\n", err)
			return 2
		}
		if codes, err = retour.ParseCodes(data); err != nil {
			fmt.Fprintf(stderr, "knooppunt retour: %s: %v\n", *codesPath, err)
			return 1
		}
	}

	set, err := xsd.Load(xsd.Config{})
	if err != nil {
		fmt.Fprintf(stderr, "knooppunt retour: loading schemas: %v\n", err)
		return 2
	}
	defer set.Close()
	if _, err := set.Validate(heen); err != nil {
		fmt.Fprintf(stderr, "knooppunt retour: %s: the heenbericht is not valid: %v\n", *heenPath, err)
		return 1
	}
	r, err := retour.Build(heen, codes, opt)
	if err != nil {
		fmt.Fprintf(stderr, "knooppunt retour: %v\n", err)
		return 1
	}
	if _, err := set.Validate(r.XML); err != nil {
		// A defect of the builder, not of the input: say so plainly.
		fmt.Fprintf(stderr, "knooppunt retour: internal error: the answer fails its own schema: %v\n", err)
		return 2
	}
	if *outPath == "" {
		if _, err := stdout.Write(r.XML); err != nil {
			return 2
		}
		return 0
	}
	if err := os.WriteFile(*outPath, r.XML, 0o644); err != nil {
		fmt.Fprintf(stderr, "knooppunt retour: writing answer: %v\n", err)
		return 2
	}
	fmt.Fprintf(stderr, "%s: %s %s\n", *outPath, r.Header.Soort.Name, retourAnswerID(r))
	return 0
}

// retourAnswerID is the answer's own identification.
func retourAnswerID(r *retour.Retour) string {
	if r.Header.IdentificatieRetour != "" {
		return r.Header.IdentificatieRetour
	}
	return r.Header.Identificatie
}

// readRetourInput reads a file, or standard input for "-".
func readRetourInput(path string, stdin io.Reader) ([]byte, error) {
	if path == "-" {
		if stdin == nil {
			return nil, errors.New("no standard input")
		}
		return io.ReadAll(stdin)
	}
	return os.ReadFile(path)
}
