package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/knooppunt/knooppunt/stuurinfo"
)

func init() {
	commands["stuurinfo"] = command{
		summary: "export stuurinformatie as CSV or JSON (also the NZa export)",
		run:     runStuurinfo,
	}
}

const stuurinfoUsage = `Usage: knooppunt stuurinfo export [flags]

Writes stuurinformatie — per period × gemeente × aanbieder × berichtsoort:
message counts, afkeur, lead times against the norms in werkdagen, starts
and stops, declared amounts — to standard output. It reads the aggregates
the switch saves (--file), or asks a running switch (--url).

Flags:
  --format csv|json     default csv, for --nza json
  --van DATE            first day, YYYY-MM-DD (default 90 days ago)
  --tot DATE            day after the last, YYYY-MM-DD (default tomorrow)
  --granularity G       dag, week or maand (default dag; day rows are kept
                        for the last 92 days)
  --gemeente CODE       one gemeente's rows
  --per productcategorie
                        the figures of product lines per ProductCategorie
                        instead of the rows per berichtsoort
  --nza                 the NZa export instead (months per gemeente, no
                        aanbieder codes, counts 1–4 suppressed)
  --file PATH           saved aggregates (default stuurinfo.gob); a file
                        that is missing or unreadable is an error
  --url URL             ask the switch's stuurinfo listener instead, with
  --token, --cert, --key, --ca as for 'knooppunt samenloop'

docs/stuurinfo.md defines every figure.

Exit status: 0 written, 2 usage or I/O error (also a missing or unreadable
--file, and a format other than csv or json).
`

func runStuurinfo(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "export" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprint(stdout, stuurinfoUsage)
			return 0
		}
		fmt.Fprint(stderr, stuurinfoUsage)
		return 2
	}
	fs := flag.NewFlagSet("stuurinfo", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var c clientFlags
	c.register(fs)
	format := fs.String("format", "", "csv or json")
	van := fs.String("van", "", "first day")
	tot := fs.String("tot", "", "day after the last")
	gran := fs.String("granularity", "dag", "dag, week or maand")
	gemeente := fs.String("gemeente", "", "one gemeente")
	nza := fs.Bool("nza", false, "the NZa export")
	per := fs.String("per", "berichtsoort", "berichtsoort or productcategorie")
	file := fs.String("file", "stuurinfo.gob", "saved aggregates")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, stuurinfoUsage)
			return 0
		}
		fmt.Fprintf(stderr, "knooppunt stuurinfo: %v\n\n%s", err, stuurinfoUsage)
		return 2
	}
	if fs.NArg() != 0 {
		fmt.Fprint(stderr, stuurinfoUsage)
		return 2
	}
	switch {
	case *format == "" && *nza:
		*format = stuurinfo.FormatJSON
	case *format == "":
		*format = stuurinfo.FormatCSV
	}
	if err := stuurinfo.CheckFormat(*format); err != nil {
		fmt.Fprintf(stderr, "knooppunt stuurinfo: %v\n\n%s", err, stuurinfoUsage)
		return 2
	}
	categories := *per == "productcategorie"
	if !categories && *per != "berichtsoort" || categories && *nza {
		fmt.Fprintf(stderr, "knooppunt stuurinfo: --per is berichtsoort or productcategorie, and not with --nza\n\n%s", stuurinfoUsage)
		return 2
	}
	g, err := stuurinfo.ParseGranularity(*gran)
	if err != nil {
		fmt.Fprintf(stderr, "knooppunt stuurinfo: %v\n", err)
		return 2
	}
	today := time.Now().UTC().Truncate(24 * time.Hour)
	q := stuurinfo.Query{Granularity: g, Van: today.AddDate(0, 0, -90), Tot: today.AddDate(0, 0, 1)}
	for _, d := range []struct {
		s    string
		into *time.Time
	}{{*van, &q.Van}, {*tot, &q.Tot}} {
		if d.s == "" {
			continue
		}
		t, err := time.Parse("2006-01-02", d.s)
		if err != nil {
			fmt.Fprintf(stderr, "knooppunt stuurinfo: %q is not a date YYYY-MM-DD\n", d.s)
			return 2
		}
		*d.into = t
	}
	if *gemeente != "" {
		q.Gemeenten = []string{*gemeente}
	}

	if c.url != "" {
		return stuurinfoRemote(&c, q, *gran, *gemeente, *format, *per, *nza, stdout, stderr)
	}
	a, err := loadAggregates(*file)
	if err != nil {
		fmt.Fprintf(stderr, "knooppunt stuurinfo: %v\n", err)
		return 2
	}
	switch {
	case *nza && *format == stuurinfo.FormatCSV:
		err = stuurinfo.WriteNZaCSV(stdout, a.NZa(q))
	case *nza:
		err = stuurinfo.WriteNZaJSON(stdout, a.NZa(q))
	case categories && *format == stuurinfo.FormatJSON:
		err = stuurinfo.WriteCategoryJSON(stdout, a.CategoryRows(q))
	case categories:
		err = stuurinfo.WriteCategoryCSV(stdout, a.CategoryRows(q))
	case *format == stuurinfo.FormatJSON:
		err = stuurinfo.WriteJSON(stdout, a.Rows(q))
	default:
		err = stuurinfo.WriteCSV(stdout, a.Rows(q))
	}
	if err != nil {
		fmt.Fprintf(stderr, "knooppunt stuurinfo: %v\n", err)
		return 2
	}
	return 0
}

// loadAggregates reads the aggregates the switch saved. Unlike the
// switch's own start, which begins empty without a file, an export from a
// file that is not there is an error: an empty export would look like a
// switch without traffic.
func loadAggregates(path string) (*stuurinfo.Aggregates, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading the saved aggregates: %w", err)
	}
	defer f.Close()
	a, err := stuurinfo.ReadAggregates(f, nil)
	if err != nil {
		return nil, fmt.Errorf("reading the saved aggregates %s: %w", path, err)
	}
	return a, nil
}

func stuurinfoRemote(c *clientFlags, q stuurinfo.Query, gran, gemeente, format, per string, nza bool, stdout, stderr io.Writer) int {
	v := url.Values{"granularity": {gran}, "van": {q.Van.Format("2006-01-02")}, "tot": {q.Tot.Format("2006-01-02")}, "format": {format}}
	if !nza {
		v.Set("per", per)
	}
	if gemeente != "" {
		v.Set("gemeente", gemeente)
	}
	path := "/v1/stuurinfo?"
	if nza {
		path = "/v1/stuurinfo/nza?"
	}
	status, body, err := c.do(http.MethodGet, path+v.Encode(), "", nil)
	if err != nil {
		fmt.Fprintf(stderr, "knooppunt stuurinfo: %v\n", err)
		return 2
	}
	if status != http.StatusOK {
		fmt.Fprintf(stderr, "knooppunt stuurinfo: the switch answered %d: %s\n", status, body)
		return 2
	}
	if _, err := stdout.Write(body); err != nil {
		return 2
	}
	return 0
}
