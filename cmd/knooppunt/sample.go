package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/sample"
)

func init() {
	commands["sample"] = command{summary: "write synthetic, XSD-valid messages of any berichtsoort", run: runSample}
}

const sampleUsage = `Usage: knooppunt sample --type SOORT [flags]

Writes synthetic messages with fictitious persons that validate against the
official iWmo 3.2 / iJw 3.2 schemas. One message goes to stdout; more need
--out, where each is written as SOORT-NNNN.xml. A retourbericht or 325 is
written as the answer to a heenbericht invented for it.

Flags:
`

func runSample(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sample", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), sampleUsage)
		fs.PrintDefaults()
	}
	var (
		typ         = fs.String("type", "", "berichtsoort, e.g. WMO301 or JW325, or \"all\" for all 28")
		n           = fs.Int("n", 1, "number of messages per berichtsoort")
		seed        = fs.Int64("seed", 1, "seed; the same seed and flags give the same messages (on the same day)")
		out         = fs.String("out", "", "directory to write SOORT-NNNN.xml files to (created if missing)")
		afzender    = fs.String("afzender", "", "header Afzender (default: one of the default parties; not checked)")
		ontvanger   = fs.String("ontvanger", "", "header Ontvanger (default: one of the default parties; not checked)")
		clients     = fs.Int("clients", 0, "clients per declaratie (323/325; default 1)")
		products    = fs.Int("products", 0, "product lines per client (default random 1-3)")
		dagtekening = fs.String("dagtekening", "", "Dagtekening YYYY-MM-DD (default today)")
		violate     = fs.String("violate", "", "rule the heenbericht breaks while staying XSD-valid: CS002, TR135, TR018 (307), TR358 (323), CD085 (319)")
	)
	fs.SetOutput(io.Discard) // help goes to stdout, errors to stderr, below
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(stdout)
		fs.Usage()
		return 0
	}
	fs.SetOutput(stderr)
	if err != nil {
		fmt.Fprintf(stderr, "knooppunt sample: %v\n\n", err)
		fs.Usage()
		return 2
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "knooppunt sample: "+format+"\n\n", a...)
		fs.Usage()
		return 2
	}
	if fs.NArg() > 0 {
		return usageErr("unexpected argument %q", fs.Arg(0))
	}
	var soorten []bericht.Soort
	switch {
	case *typ == "":
		return usageErr("--type is required")
	case strings.EqualFold(*typ, "all"):
		soorten = bericht.All()
	default:
		s, ok := bericht.Lookup(*typ)
		if !ok {
			return usageErr("unknown berichtsoort %q", *typ)
		}
		soorten = []bericht.Soort{s}
	}
	if *violate != "" {
		// With all, keep the berichtsoorten that can break the rule.
		var can []bericht.Soort
		for _, s := range soorten {
			if _, ok := sample.Violations(s)[strings.ToUpper(*violate)]; ok {
				can = append(can, s)
			}
		}
		if len(can) == 0 {
			return usageErr("no berichtsoort of --type %s can violate %q", *typ, *violate)
		}
		soorten = can
	}
	if *n < 1 {
		return usageErr("--n must be at least 1")
	}
	if *clients < 0 || *products < 0 {
		return usageErr("--clients and --products cannot be negative")
	}
	if *out == "" && *n*len(soorten) > 1 {
		return usageErr("%d messages need --out DIR (only one message goes to stdout)", *n*len(soorten))
	}
	opt := sample.Options{Afzender: *afzender, Ontvanger: *ontvanger, Clients: *clients, Products: *products, Violate: strings.ToUpper(*violate)}
	if *dagtekening != "" {
		d, err := time.Parse("2006-01-02", *dagtekening)
		if err != nil {
			return usageErr("--dagtekening %q is not a date YYYY-MM-DD", *dagtekening)
		}
		opt.Dagtekening = d
	}
	if *out != "" {
		if err := os.MkdirAll(*out, 0o755); err != nil {
			fmt.Fprintf(stderr, "knooppunt sample: creating %s: %v\n", *out, err)
			return 2
		}
	}

	g := sample.New(*seed)
	for _, s := range soorten {
		for i := range *n {
			m, err := g.Generate(s, opt)
			if err != nil {
				fmt.Fprintf(stderr, "knooppunt sample: %v\n", err)
				return 1
			}
			if *out == "" {
				if _, err := stdout.Write(m.XML); err != nil {
					fmt.Fprintf(stderr, "knooppunt sample: writing stdout: %v\n", err)
					return 2
				}
				continue
			}
			path := filepath.Join(*out, fmt.Sprintf("%s-%04d.xml", s.Name, i+1))
			if err := os.WriteFile(path, m.XML, 0o644); err != nil {
				fmt.Fprintf(stderr, "knooppunt sample: writing %s: %v\n", path, err)
				return 2
			}
		}
	}
	if *out != "" {
		fmt.Fprintf(stderr, "knooppunt sample: wrote %d messages to %s\n", *n*len(soorten), *out)
	}
	return 0
}
