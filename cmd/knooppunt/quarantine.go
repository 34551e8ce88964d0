package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"text/tabwriter"
	"time"
)

func init() {
	commands["quarantine"] = command{
		summary: "list quarantined messages, or release one to its mailbox",
		run:     runQuarantine,
	}
}

const quarantineUsage = `Usage:
  knooppunt quarantine list [flags]         the quarantined messages of every mailbox
  knooppunt quarantine release [flags] ID   return message ID to its mailbox

A message its recipient did not confirm after the store's delivery
attempts, or that push delivery gave up on, waits in the quarantine until
an operator releases it (docs/api.md). Both ask a running switch, as an
operator; the switch records them in the audit trail. list prints id,
berichtsoort, afzender, ontvanger, received and deliveries — never content.

Flags:
  --url URL      base URL of the switch's API (required)
  --token T      bearer token (or KNOOPPUNT_TOKEN)
  --cert, --key  client certificate and key (PEM) for mutual TLS
  --ca FILE      CA certificates (PEM) the server's certificate chains to
  --json         list: print the switch's JSON pages instead of a table

Exit status: 0 done, 1 the switch said no, 2 usage or I/O error.
`

func runQuarantine(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	var asJSON *bool
	fs, c, code, done := clientCommand("quarantine", quarantineUsage, args, stdout, stderr, func(fs *flag.FlagSet) {
		asJSON = fs.Bool("json", false, "print JSON")
	})
	switch {
	case done:
		return code
	case c.url == "":
	case args[0] == "list" && fs.NArg() == 0:
		return quarantineList(c, *asJSON, stdout, stderr)
	case args[0] == "release" && fs.NArg() == 1:
		return quarantineRelease(c, fs.Arg(0), stdout, stderr)
	}
	fmt.Fprint(stderr, quarantineUsage)
	return 2
}

// quarantineList pages through GET /v1/quarantine.
func quarantineList(c *clientFlags, asJSON bool, stdout, stderr io.Writer) int {
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	if !asJSON {
		fmt.Fprintln(tw, "ID\tBERICHTSOORT\tAFZENDER\tONTVANGER\tRECEIVED\tDELIVERIES")
	}
	for after := ""; ; {
		status, body, err := c.do(http.MethodGet, "/v1/quarantine?limit=250&after="+url.QueryEscape(after), "", nil)
		if err != nil {
			fmt.Fprintf(stderr, "knooppunt quarantine: %v\n", err)
			return 2
		}
		if status != http.StatusOK {
			fmt.Fprintf(stderr, "knooppunt quarantine: the switch answered %d: %s\n", status, body)
			return 1
		}
		var page struct {
			Berichten []struct {
				ID, Berichtsoort, Afzender, Ontvanger string
				Received                              time.Time
				Deliveries                            int
			}
			Next string
		}
		if err := json.Unmarshal(body, &page); err != nil {
			fmt.Fprintf(stderr, "knooppunt quarantine: reading the answer: %v\n", err)
			return 2
		}
		if asJSON {
			stdout.Write(body)
		} else {
			for _, e := range page.Berichten {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\n", e.ID, e.Berichtsoort, e.Afzender, e.Ontvanger,
					e.Received.Format(time.RFC3339), e.Deliveries)
			}
		}
		if page.Next == "" {
			break
		}
		after = page.Next
	}
	if !asJSON {
		tw.Flush()
	}
	return 0
}

// quarantineRelease is POST /v1/quarantine/{id}/release.
func quarantineRelease(c *clientFlags, id string, stdout, stderr io.Writer) int {
	status, body, err := c.do(http.MethodPost, "/v1/quarantine/"+url.PathEscape(id)+"/release", "", nil)
	if err != nil {
		fmt.Fprintf(stderr, "knooppunt quarantine: %v\n", err)
		return 2
	}
	if status != http.StatusNoContent {
		fmt.Fprintf(stderr, "knooppunt quarantine: the switch answered %d: %s\n", status, body)
		return 1
	}
	fmt.Fprintf(stdout, "released %s to its mailbox\n", id)
	return 0
}
