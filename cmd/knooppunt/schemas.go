package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/knooppunt/knooppunt/bericht"
)

func init() {
	commands["schemas"] = command{
		summary: "write the embedded iWmo/iJw 3.2 XSD set to a directory",
		run:     runSchemas,
	}
}

const schemasUsage = `Usage: knooppunt schemas export DIR

Writes the XML schemas the switch validates with — generated from its own
model of iWmo 3.2 and iJw 3.2 — to DIR, one directory per standard:

  DIR/iwmo-3.2/basisschema.xsd, DIR/iwmo-3.2/WMO301.xsd, … WMO325.xsd
  DIR/ijw-3.2/basisschema.xsd,  DIR/ijw-3.2/JW301.xsd,  … JW325.xsd

Each message schema imports basisschema.xsd beside it, so a file checks with
  xmllint --noout --schema DIR/iwmo-3.2/WMO301.xsd message.xml
Existing files of those names are overwritten; nothing else in DIR is touched.

Exit status: 0 written, 2 usage or I/O error.
`

func runSchemas(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 && isHelp(args[0]) {
		fmt.Fprint(stdout, schemasUsage)
		return 0
	}
	if len(args) == 0 || args[0] != "export" {
		fmt.Fprint(stderr, schemasUsage)
		return 2
	}
	// Flags after the verb too: "schemas export --help" is a request for
	// help, not a directory.
	fs := flag.NewFlagSet("schemas export", flag.ContinueOnError)
	usage := func(w io.Writer) { fmt.Fprint(w, schemasUsage) }
	if code, done := parseFlags(fs, args[1:], usage, stdout, stderr); done {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprint(stderr, schemasUsage)
		return 2
	}
	dir := fs.Arg(0)
	n, err := exportSchemas(dir)
	if err != nil {
		fmt.Fprintf(stderr, "knooppunt schemas: %v\n", err)
		return 2
	}
	fmt.Fprintf(stdout, "wrote %d schemas to %s\n", n, dir)
	return 0
}

// exportSchemas writes bericht.SchemaFiles below dir and returns how many
// files it wrote.
func exportSchemas(dir string) (int, error) {
	files := bericht.SchemaFiles()
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return 0, fmt.Errorf("creating %s: %w", filepath.Dir(path), err)
		}
		if err := os.WriteFile(path, files[name], 0o644); err != nil {
			return 0, fmt.Errorf("writing schema %s: %w", path, err)
		}
	}
	return len(names), nil
}
