package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/knooppunt/knooppunt/progress"
	"github.com/knooppunt/knooppunt/samenloop"
)

func init() {
	commands["samenloop"] = command{
		summary: "import a Wlz register copy, or run the Wmo–Wlz samenloop comparison",
		run:     runSamenloop,
	}
}

const samenloopUsage = `Usage:
  knooppunt samenloop import [flags] FILE   check a Wlz register CSV and load it
  knooppunt samenloop run [flags]            compare now and signal the changes

FILE is a CSV with the header
  bsn,wlz_status,afgiftedatum,ingangsdatum,einddatum
(wlz_status ja, nee or onbekend; dates YYYY-MM-DD; einddatum may be empty).
A file with any bad line is refused whole, with every bad line and why; a
good file replaces the register copy of the running switch. The switch's
API takes both requests, from an operator's credential.

Flags:
  --url URL      base URL of the switch's API (required unless --check)
  --token T      bearer token (or KNOOPPUNT_TOKEN)
  --cert, --key  client certificate and key (PEM) for mutual TLS
  --ca FILE      CA certificates (PEM) the server's certificate chains to
  --check        import: only check FILE, load nothing

Exit status: 0 done, 1 refused (bad register, or the switch said no),
2 usage or I/O error.
`

// clientFlags are the flags of a subcommand that talks to a running switch.
type clientFlags struct {
	url, token, cert, key, ca string
}

func (c *clientFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.url, "url", "", "base URL of the switch")
	fs.StringVar(&c.token, "token", os.Getenv("KNOOPPUNT_TOKEN"), "bearer token")
	fs.StringVar(&c.cert, "cert", "", "client certificate (PEM)")
	fs.StringVar(&c.key, "key", "", "client key (PEM)")
	fs.StringVar(&c.ca, "ca", "", "server CA certificates (PEM)")
}

// do sends one request to the switch and returns the status and body.
func (c *clientFlags) do(method, path, ctype string, body io.Reader) (int, []byte, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.cert != "" {
		kp, err := tls.LoadX509KeyPair(c.cert, c.key)
		if err != nil {
			return 0, nil, fmt.Errorf("loading client certificate %s: %w", c.cert, err)
		}
		tc.Certificates = []tls.Certificate{kp}
	}
	if c.ca != "" {
		pem, err := os.ReadFile(c.ca)
		if err != nil {
			return 0, nil, fmt.Errorf("reading CA: %w", err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return 0, nil, fmt.Errorf("reading CA %s: no PEM certificate in it", c.ca)
		}
	}
	req, err := http.NewRequest(method, strings.TrimSuffix(c.url, "/")+path, body)
	if err != nil {
		return 0, nil, fmt.Errorf("building request: %w", err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	client := &http.Client{Timeout: 10 * time.Minute, Transport: &http.Transport{TLSClientConfig: tc}}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("calling the switch: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, fmt.Errorf("reading the answer: %w", err)
	}
	return resp.StatusCode, b, nil
}

func runSamenloop(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	var check *bool
	fs, c, code, done := clientCommand("samenloop", samenloopUsage, args, stdout, stderr, func(fs *flag.FlagSet) {
		check = fs.Bool("check", false, "only check the file")
	})
	switch {
	case done:
		return code
	case args[0] == "import" && fs.NArg() == 1:
		return samenloopImport(fs.Arg(0), c, *check, stdout, stderr)
	case args[0] == "run" && fs.NArg() == 0 && c.url != "":
		return samenloopRun(c, stdout, stderr)
	}
	fmt.Fprint(stderr, samenloopUsage)
	return 2
}

// clientCommand parses a client command's arguments: a subcommand
// (args[0]), then the API client's flags and those flags adds. done
// reports that the command ends here, with exit status code: no
// subcommand (usage, 2), help (usage on stdout, 0) or a flag error (2).
func clientCommand(name, usage string, args []string, stdout, stderr io.Writer, flags func(*flag.FlagSet)) (fs *flag.FlagSet, c *clientFlags, code int, done bool) {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return nil, nil, 2, true
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, usage)
		return nil, nil, 0, true
	}
	fs = flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c = &clientFlags{}
	c.register(fs)
	if flags != nil {
		flags(fs)
	}
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usage)
			return nil, nil, 0, true
		}
		fmt.Fprintf(stderr, "knooppunt %s: %v\n\n%s", name, err, usage)
		return nil, nil, 2, true
	}
	return fs, c, 0, false
}

func samenloopImport(path string, c *clientFlags, check bool, stdout, stderr io.Writer) int {
	data, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintf(stderr, "knooppunt samenloop: %v\n", err)
		return 2
	}
	reg, err := samenloop.ParseRegister(bytes.NewReader(data))
	var ie *samenloop.ImportError
	if errors.As(err, &ie) {
		fmt.Fprintf(stderr, "knooppunt samenloop: %s refused whole, nothing imported: %d bad line(s)\n", path, len(ie.Lines))
		for _, l := range ie.Lines {
			fmt.Fprintf(stderr, "  line %d: %s\n", l.Line, l.Reason)
		}
		return 1
	}
	if err != nil {
		fmt.Fprintf(stderr, "knooppunt samenloop: %v\n", err)
		return 2
	}
	if check {
		fmt.Fprintf(stdout, "%s: %d persons, good\n", path, len(reg))
		return 0
	}
	if c.url == "" {
		fmt.Fprintf(stderr, "knooppunt samenloop: --url is required to import (or --check)\n")
		return 2
	}
	stop := onInterrupt(stderr, func() string {
		return "an import is taken whole or not at all; running it again is safe"
	})
	meter := progress.NewBytes(stderr, "of the register sent", int64(len(data)))
	status, body, err := c.do(http.MethodPost, "/v1/samenloop/wlz-register", "text/csv", meter.Reader(bytes.NewReader(data)))
	meter.Done()
	stop()
	if err != nil {
		fmt.Fprintf(stderr, "knooppunt samenloop: %v\n", err)
		return 2
	}
	if status != http.StatusOK {
		fmt.Fprintf(stderr, "knooppunt samenloop: the switch refused the import (%d): %s\n", status, strings.TrimSpace(string(body)))
		return 1
	}
	fmt.Fprintf(stdout, "%s: %d persons imported; the previous copy is replaced\n", path, len(reg))
	return 0
}

func samenloopRun(c *clientFlags, stdout, stderr io.Writer) int {
	status, body, err := c.do(http.MethodPost, "/v1/samenloop/run", "", nil)
	if err != nil {
		fmt.Fprintf(stderr, "knooppunt samenloop: %v\n", err)
		return 2
	}
	if status != http.StatusOK {
		fmt.Fprintf(stderr, "knooppunt samenloop: the run failed (%d): %s\n", status, strings.TrimSpace(string(body)))
		return 1
	}
	var sum samenloop.Summary
	if err := json.Unmarshal(body, &sum); err != nil {
		fmt.Fprintf(stderr, "knooppunt samenloop: reading the summary: %v\n", err)
		return 2
	}
	fmt.Fprintf(stdout, "%s: %d signals (%d gained, %d lost, %d changed), %d already sent; register %d persons, %d active toewijzingen, %v\n",
		sum.Day, sum.Signals, sum.Gained, sum.Lost, sum.Changed, sum.AlreadySent, sum.Register, sum.Active, sum.Took)
	return 0
}
