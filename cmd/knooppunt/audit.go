package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/knooppunt/knooppunt/audit"
)

func init() {
	commands["audit"] = command{
		summary: "verify the tamper-evident audit trail",
		run:     runAudit,
	}
}

const auditUsage = `Usage: knooppunt audit verify [--data DIR | --audit DIR]

Checks the audit trail's hash chain: every entry's hash, every link to the
entry before it, consecutive sequence numbers, and that entries missing at
the start were removed by retention (which records itself in the chain).
A changed, removed or inserted entry is reported with its line.

It prints the number of entries and the head hash. Record the head outside
the node (ticket, SIEM) — a later verify whose chain does not run through
it shows that the tail was cut off.

Flags:
  --data DIR    the node's data directory; the trail is DIR.audit (default "data")
  --audit DIR   the trail's directory, if set elsewhere

Exit status: 0 intact, 1 tampered, 2 usage or I/O error.
`

func runAudit(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	data := fs.String("data", "data", "")
	dir := fs.String("audit", "", "")
	if len(args) == 0 || args[0] != "verify" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
			fmt.Fprint(stdout, auditUsage)
			return 0
		}
		fmt.Fprint(stderr, auditUsage)
		return 2
	}
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, auditUsage)
			return 0
		}
		fmt.Fprintf(stderr, "knooppunt audit: %v\n\n%s", err, auditUsage)
		return 2
	}
	if fs.NArg() != 0 {
		fmt.Fprint(stderr, auditUsage)
		return 2
	}
	if *dir == "" {
		*dir = *data + ".audit"
	}
	res, err := audit.Verify(*dir)
	switch {
	case errors.Is(err, audit.ErrTampered):
		fmt.Fprintf(stdout, "TAMPERED: %v\n", err)
		return 1
	case err != nil:
		fmt.Fprintf(stderr, "knooppunt audit: %v\n", err)
		return 2
	}
	fmt.Fprintf(stdout, "ok: %d entries, seq %d..%d, head %s\n", res.Entries, res.First, res.Last, res.Head)
	return 0
}
