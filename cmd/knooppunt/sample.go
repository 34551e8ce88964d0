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
	"github.com/knooppunt/knooppunt/stuf"
)

func init() {
	commands["sample"] = command{summary: "write synthetic, XSD-valid messages of any berichtsoort", run: runSample}
}

const sampleUsage = `Usage: knooppunt sample --type SOORT [flags]
       knooppunt sample --traject iwmo|ijw --out DIR [flags]

Writes synthetic messages with fictitious persons that validate against the
official iWmo 3.2 / iJw 3.2 schemas. One message goes to stdout; more need
--out, where each is written as SOORT-NNNN.xml. A retourbericht or 325 is
written as the answer to a heenbericht invented for it. --traject writes
one client's chain of messages that refer to each other.

--stuf writes a heenbericht as a gemeente's StUF-GGk request instead: the
message in a ggk_Di01 envelope (zender --afzender, ontvanger --ontvanger)
in a SOAP 1.1 envelope with WS-Addressing, signed with WS-Security when
--sign-cert and --sign-key are given. Its referentienummer and MessageID
are fresh on every run, so each request can be sent once.

Flags:
`

// sampleCmd holds the flags of knooppunt sample.
type sampleCmd struct {
	typ, traject, violate    string
	n, clients, products     int
	seed                     int64
	out, afzender, ontvanger string
	dagtekening              time.Time
	// soap wraps each message in a Di01 SOAP request, signed when
	// signer is set.
	soap   bool
	signer *stuf.Signer
	stderr io.Writer
}

func runSample(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	c := sampleCmd{stderr: stderr}
	fs := flag.NewFlagSet("sample", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), sampleUsage)
		fs.PrintDefaults()
	}
	fs.StringVar(&c.typ, "type", "", "berichtsoort, e.g. WMO301 or JW325, or \"all\" for all 28")
	fs.StringVar(&c.traject, "traject", "", "instead of --type: write --n trajecten of standard iwmo or ijw\n(315, 301, 305, 323, 307 with answers, referring to each other) as traject-NNNN-MM-SOORT.xml")
	fs.IntVar(&c.n, "n", 1, "number of messages per berichtsoort, or of trajecten")
	fs.Int64Var(&c.seed, "seed", 1, "seed; the same seed and flags give the same messages (on the same day)")
	fs.StringVar(&c.out, "out", "", "directory to write the files to (created if missing)")
	fs.StringVar(&c.afzender, "afzender", "", "header Afzender (default: a default party; not checked); with --traject the gemeente")
	fs.StringVar(&c.ontvanger, "ontvanger", "", "header Ontvanger (default: a default party; not checked); with --traject the aanbieder")
	fs.IntVar(&c.clients, "clients", 0, "clients per declaratie (323/325; default 1)")
	fs.IntVar(&c.products, "products", 0, "product lines per client (default random 1-3)")
	dagtekening := fs.String("dagtekening", "", "Dagtekening YYYY-MM-DD (default today); with --traject that of the last messages")
	fs.BoolVar(&c.soap, "stuf", false, "write each heenbericht as a StUF-GGk ggk_Di01 SOAP request")
	signCert := fs.String("sign-cert", "", "with --stuf: WS-Security signing certificate (PEM)")
	signKey := fs.String("sign-key", "", "key of --sign-cert (PEM)")
	fs.StringVar(&c.violate, "violate", "", "rule the heenbericht breaks while staying XSD-valid:\nCS002, TR135, TR018 (307), TR358 (323), CD085 (319)")

	fs.SetOutput(io.Discard) // help goes to stdout, errors to stderr, below
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(stdout)
		fs.Usage()
		return 0
	}
	fs.SetOutput(stderr)
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "knooppunt sample: "+format+"\n\n", a...)
		fs.Usage()
		return 2
	}
	switch {
	case err != nil:
		return usageErr("%v", err)
	case fs.NArg() > 0:
		return usageErr("unexpected argument %q", fs.Arg(0))
	case c.n < 1:
		return usageErr("--n must be at least 1")
	case c.clients < 0 || c.products < 0:
		return usageErr("--clients and --products cannot be negative")
	}
	switch {
	case (*signCert == "") != (*signKey == ""):
		return usageErr("--sign-cert and --sign-key go together")
	case *signCert != "" && !c.soap:
		return usageErr("--sign-cert needs --stuf")
	case c.soap && c.traject != "":
		return usageErr("--stuf excludes --traject")
	case *signCert != "":
		if c.signer, err = stuf.LoadSigner(*signCert, *signKey); err != nil {
			fmt.Fprintf(stderr, "knooppunt sample: %v\n", err)
			return 2
		}
	}
	if *dagtekening != "" {
		if c.dagtekening, err = time.Parse("2006-01-02", *dagtekening); err != nil {
			return usageErr("--dagtekening %q is not a date YYYY-MM-DD", *dagtekening)
		}
	}
	if c.traject != "" {
		std := bericht.Standard(strings.ToLower(c.traject))
		switch {
		case c.typ != "" || c.violate != "":
			return usageErr("--traject excludes --type and --violate")
		case std != bericht.IWmo && std != bericht.IJw:
			return usageErr("--traject %q: want iwmo or ijw", c.traject)
		case c.out == "":
			return usageErr("--traject needs --out DIR")
		}
		return c.writeTrajecten(std)
	}

	soorten, problem := c.soorten()
	if problem != "" {
		return usageErr("%s", problem)
	}
	if c.out == "" && c.n*len(soorten) > 1 {
		return usageErr("%d messages need --out DIR (only one message goes to stdout)", c.n*len(soorten))
	}
	return c.writeMessages(soorten, stdout)
}

// soorten resolves --type and --violate to the berichtsoorten to write, or
// says what is wrong with them.
func (c *sampleCmd) soorten() ([]bericht.Soort, string) {
	var soorten []bericht.Soort
	switch {
	case c.typ == "":
		return nil, "--type is required"
	case strings.EqualFold(c.typ, "all"):
		soorten = bericht.All()
	default:
		s, ok := bericht.Lookup(c.typ)
		if !ok {
			return nil, fmt.Sprintf("unknown berichtsoort %q", c.typ)
		}
		soorten = []bericht.Soort{s}
	}
	if c.soap {
		for _, s := range soorten {
			if s.Retour || s.Number == 325 { // a Du01's payload, answering a Di01
				return nil, fmt.Sprintf("--stuf writes heenberichten in a Di01, and %s is an answer", s.Name)
			}
		}
	}
	if c.violate == "" {
		return soorten, ""
	}
	// With all, keep the berichtsoorten that can break the rule.
	c.violate = strings.ToUpper(c.violate)
	var can []bericht.Soort
	for _, s := range soorten {
		if _, ok := sample.Violations(s)[c.violate]; ok {
			can = append(can, s)
		}
	}
	if len(can) == 0 {
		return nil, fmt.Sprintf("no berichtsoort of --type %s can violate %q", c.typ, c.violate)
	}
	return can, ""
}

func (c *sampleCmd) writeMessages(soorten []bericht.Soort, stdout io.Writer) int {
	if !c.mkdir() {
		return 2
	}
	opt := sample.Options{
		Afzender: c.afzender, Ontvanger: c.ontvanger, Dagtekening: c.dagtekening,
		Clients: c.clients, Products: c.products, Violate: c.violate,
	}
	g := sample.New(c.seed)
	for _, s := range soorten {
		for i := range c.n {
			m, err := g.Generate(s, opt)
			if err != nil {
				fmt.Fprintf(c.stderr, "knooppunt sample: %v\n", err)
				return 1
			}
			if c.soap {
				if m.XML, err = c.di01(m); err != nil {
					fmt.Fprintf(c.stderr, "knooppunt sample: %v\n", err)
					return 1
				}
			}
			if c.out == "" {
				if _, err := stdout.Write(m.XML); err != nil {
					fmt.Fprintf(c.stderr, "knooppunt sample: writing stdout: %v\n", err)
					return 2
				}
				continue
			}
			if !c.write(fmt.Sprintf("%s-%04d.xml", s.Name, i+1), m.XML) {
				return 2
			}
		}
	}
	if c.out != "" {
		fmt.Fprintf(c.stderr, "knooppunt sample: wrote %d messages to %s\n", c.n*len(soorten), c.out)
	}
	return 0
}

// di01 wraps the heenbericht m in a gemeente's ggk_Di01 SOAP request,
// from and to the parties its header names.
func (c *sampleCmd) di01(m *sample.Message) ([]byte, error) {
	now := time.Now()
	el, err := (&stuf.Envelope{
		Berichtcode:      "Di01",
		Zender:           stuf.Party{Organisatie: m.Header.Afzender, Applicatie: "knooppunt sample"},
		Ontvanger:        stuf.Party{Organisatie: m.Header.Ontvanger, Applicatie: "GGk"},
		Referentienummer: stuf.NewUUID(),
		TijdstipBericht:  stuf.Tijdstip(now),
		Functie:          m.Soort.Name,
		Payload:          m.XML,
	}).Marshal()
	if err != nil {
		return nil, err
	}
	return stuf.Build(stuf.Addressing{Action: stuf.ActionDi01}, el, c.signer, now)
}

func (c *sampleCmd) writeTrajecten(std bericht.Standard) int {
	if !c.mkdir() {
		return 2
	}
	opt := sample.TrajectOptions{Gemeente: c.afzender, Aanbieder: c.ontvanger, Einde: c.dagtekening, Products: c.products}
	g := sample.New(c.seed)
	count := 0
	for i := range c.n {
		msgs, err := g.Traject(std, opt)
		if err != nil {
			fmt.Fprintf(c.stderr, "knooppunt sample: %v\n", err)
			return 1
		}
		for j, m := range msgs {
			if !c.write(fmt.Sprintf("traject-%04d-%02d-%s.xml", i+1, j+1, m.Soort.Name), m.XML) {
				return 2
			}
			count++
		}
	}
	fmt.Fprintf(c.stderr, "knooppunt sample: wrote %d trajecten (%d messages) to %s\n", c.n, count, c.out)
	return 0
}

func (c *sampleCmd) mkdir() bool {
	if c.out == "" {
		return true
	}
	if err := os.MkdirAll(c.out, 0o755); err != nil {
		fmt.Fprintf(c.stderr, "knooppunt sample: creating %s: %v\n", c.out, err)
		return false
	}
	return true
}

func (c *sampleCmd) write(name string, b []byte) bool {
	path := filepath.Join(c.out, name)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		fmt.Fprintf(c.stderr, "knooppunt sample: writing %s: %v\n", path, err)
		return false
	}
	return true
}
