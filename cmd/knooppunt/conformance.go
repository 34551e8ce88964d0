package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/conformance"
	"github.com/knooppunt/knooppunt/gateway"
	"github.com/knooppunt/knooppunt/node"
	"github.com/knooppunt/knooppunt/progress"
	"github.com/knooppunt/knooppunt/retour"
	"github.com/knooppunt/knooppunt/rules"
	"github.com/knooppunt/knooppunt/store"
	"github.com/knooppunt/knooppunt/store/pebble"
	"github.com/knooppunt/knooppunt/xsd"
)

func init() {
	commands["conformance"] = command{summary: "run the conformance suite, or check messages as a sender would", run: runConformance}
}

const conformanceUsage = `Usage:
  knooppunt conformance run [flags] [DIR]
  knooppunt conformance check [flags] FILE...

run executes the conformance suite: the cases built into the binary, or
the *.case files in DIR (format in conformance/README.md). Without --target
it starts a switch in-process: fresh data directory, the dev registry and
a gemeente that checks its aanleveringen, a 1 s lease, and per-caller
limits sized for the run (conformance/README.md).

With --target it runs the same cases over HTTP against a running
Knooppunt, for test parties only: it acts only as the parties given a
token (--token, --tokens), and skips, before any request, each case that
would act as or send a message to another party. Polling leases every
message in a mailbox, and confirming is how a run cleans up, so give it
the tokens of test parties whose mailboxes nobody else reads — never of a
party in production. --dev-parties uses the dev tokens dev-<code> of a
target started with serve --dev instead.

Each case gets a line: ok, SKIP with the reason, or FAIL with the case file
and line of the expectation that failed and what the switch answered; the
last line is "N passed, M failed" (", K skipped" may follow). A 429 from
the target is waited out after its Retry-After (at most 10 s at a time, one
minute per request) and counted in the report, so a target's limits can
slow a run but not change its verdict.
Exit status 1 when any case failed.

check gives the verdict a sender would get for each message file — XSD
(control level 1: an error with line and column) and the level-2 rules
(a retourbericht with RetourCode 0001, and which rules failed where) —
without routing or storing.
Exit status 1 when any message is refused.
`

// runConformance dispatches run and check.
func runConformance(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, conformanceUsage)
		return 2
	}
	switch args[0] {
	case "run":
		return runConformanceRun(args[1:], stdout, stderr)
	case "check":
		return runConformanceCheck(args[1:], stdout, stderr)
	}
	if isHelp(args[0]) {
		fmt.Fprint(stdout, conformanceUsage)
		return 0
	}
	fmt.Fprintf(stderr, "knooppunt conformance: unknown subcommand %q\n\n%s", args[0], conformanceUsage)
	return 2
}

// listFlag collects a repeated flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// inProcessLease is the lease of the in-process switch: short, so the
// lease cases wait seconds, not minutes.
const inProcessLease = time.Second

func runConformanceRun(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("conformance run", flag.ContinueOnError)
	var (
		target, soapTarget, junit, runRE, tokensFile string
		tokens, features                             listFlag
		lease                                        time.Duration
		parallel                                     int
		quiet, devParties                            bool
	)
	fs.StringVar(&target, "target", "", "base URL of a running Knooppunt; default: an in-process switch")
	fs.StringVar(&soapTarget, "soap-target", "", "URL of the target's StUF-GGk SOAP endpoint; without it the soap cases are skipped (with --target)")
	fs.Var(&tokens, "token", "PARTY=TOKEN: the bearer token of a test party (repeatable); with --target only these parties are used")
	fs.BoolVar(&devParties, "dev-parties", false, "with --target: the target runs serve --dev; parties without --token use dev-<code>")
	fs.StringVar(&tokensFile, "tokens", "", "file of PARTY=TOKEN lines (# comments allowed)")
	fs.DurationVar(&lease, "lease", 0, "the target's lease (visibility timeout); 0: unknown, lease cases are skipped (with --target)")
	fs.Var(&features, "feature", "a further feature the target has: retour, signature or aanleveringen (repeatable)")
	fs.StringVar(&junit, "junit", "", "write a JUnit XML report to this file")
	fs.StringVar(&runRE, "run", "", "run only the cases whose name matches this regular expression")
	fs.IntVar(&parallel, "parallel", conformance.DefaultParallel, "cases run at once")
	fs.BoolVar(&quiet, "q", false, "list only failed cases (and the summary)")
	if code, done := parseFlags(fs, args, usageWithFlags(fs, conformanceUsage+"\nFlags of run:\n"), stdout, stderr); done {
		return code
	}
	dir := "" // the cases built into the binary
	switch fs.NArg() {
	case 0:
	case 1:
		dir = fs.Arg(0)
	default:
		fmt.Fprintln(stderr, "knooppunt conformance run: at most one directory")
		return 2
	}
	cfg := conformance.Config{Target: target, SOAPTarget: soapTarget, Lease: lease, Features: features, Parallel: parallel, Tokens: map[string]string{},
		NamedPartiesOnly: target != "" && !devParties}
	if runRE != "" {
		re, err := regexp.Compile(runRE)
		if err != nil {
			fmt.Fprintf(stderr, "knooppunt conformance run: --run: %v\n", err)
			return 2
		}
		cfg.Run = re
	}
	if tokensFile != "" {
		lines, err := readTokenFile(tokensFile)
		if err != nil {
			fmt.Fprintf(stderr, "knooppunt conformance run: %v\n", err)
			return 2
		}
		tokens = append(lines, tokens...)
	}
	for _, t := range tokens {
		party, token, ok := strings.Cut(t, "=")
		if !ok || party == "" || token == "" {
			fmt.Fprintf(stderr, "knooppunt conformance run: --token %q: want PARTY=TOKEN\n", t)
			return 2
		}
		cfg.Tokens[party] = token
	}
	var cases []*conformance.Case
	var err error
	if dir == "" {
		cases, err = conformance.Embedded()
	} else {
		cases, err = conformance.Load(dir)
	}
	if err != nil {
		fmt.Fprintf(stderr, "knooppunt conformance run: %v\n", err)
		return 2
	}
	ctx := context.Background()
	if target == "" {
		sw, err := startConformanceSwitch(ctx, parallel)
		if err != nil {
			fmt.Fprintf(stderr, "knooppunt conformance run: starting the in-process switch: %v\n", err)
			return 1
		}
		defer sw.close(ctx)
		cfg.Target, cfg.SOAPTarget, cfg.Lease = sw.url, sw.soap, inProcessLease
		// The in-process switch answers rule breaches itself, requires
		// signed envelopes of conformance.SignatureParty and checks the
		// aanleveringen of conformance.AanleveringenParty.
		cfg.Features = append(cfg.Features, conformance.FeatureRetour, conformance.FeatureSignature, conformance.FeatureAanleveringen)
	}
	var (
		meter     *progress.Meter
		startOnce sync.Once
	)
	var casesDone, casesTotal atomic.Int64
	cfg.Progress = func(done, total int) {
		startOnce.Do(func() { meter = progress.New(stderr, "cases", int64(total)) })
		meter.Add(1)
		casesDone.Store(int64(done))
		casesTotal.Store(int64(total))
	}
	stop := onInterrupt(stderr, func() string {
		return fmt.Sprintf("%d of %d cases ran; running it again is safe: every run uses identificaties of its own", casesDone.Load(), casesTotal.Load())
	})
	rep, err := conformance.Run(ctx, cfg, cases)
	stop()
	startOnce.Do(func() {}) // no case ran: no meter
	if meter != nil {
		meter.Done()
	}
	if err != nil {
		fmt.Fprintf(stderr, "knooppunt conformance run: %v\n", err)
		return 2
	}
	if junit != "" {
		if err := writeJUnit(junit, rep); err != nil {
			fmt.Fprintf(stderr, "knooppunt conformance run: %v\n", err)
			return 2
		}
	}
	if err := rep.WriteText(stdout, quiet); err != nil {
		return 2
	}
	if rep.Failed > 0 {
		return 1
	}
	return 0
}

func writeJUnit(path string, rep *conformance.Report) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("creating JUnit report: %w", err)
	}
	if err := rep.WriteJUnit(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing JUnit report %s: %w", path, err)
	}
	return nil
}

// readTokenFile reads PARTY=TOKEN lines; blank lines and # comments are
// skipped.
func readTokenFile(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading tokens: %w", err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading tokens %s: %w", path, err)
	}
	return out, nil
}

// conformanceSwitch is the in-process switch of a conformance run: the
// switch of `serve --dev` on conformance.SwitchRegistry (the dev registry
// and a gemeente that checks its aanleveringen, with the ledger secret the
// node makes in its data directory), on a temporary data directory with a
// short lease and the per-caller limits the suite states for the run's
// parallelism (conformance.SwitchLimits), listening on a free loopback
// port.
type conformanceSwitch struct {
	url  string
	soap string
	dir  string
	node *node.Node
}

func startConformanceSwitch(ctx context.Context, parallel int) (_ *conformanceSwitch, err error) {
	sw := &conformanceSwitch{}
	defer func() {
		if err != nil {
			sw.close(ctx)
		}
	}()
	trust, err := conformance.SignatureTrust() // gemeente SignatureParty must sign its envelopes
	if err != nil {
		return sw, err
	}
	reg, err := conformance.SwitchRegistry()
	if err != nil {
		return sw, err
	}
	if sw.dir, err = os.MkdirTemp("", "knooppunt-conformance-"); err != nil {
		return sw, fmt.Errorf("creating data directory: %w", err)
	}
	sw.node, err = node.Start(ctx, node.Config{
		Dev: true, Addr: "127.0.0.1:0", AnswerRules: true, Registry: reg,
		Store:    pebble.Config{Dir: sw.dir, Policy: store.Policy{VisibilityTimeout: inProcessLease}},
		StUF:     node.StUFConfig{Addr: "127.0.0.1:0", Trust: trust},
		Security: node.SecurityConfig{Limits: conformance.SwitchLimits(parallel)},
		Logger:   zerolog.Nop(),
	})
	if err != nil {
		return sw, err
	}
	sw.url, sw.soap = sw.node.URL(), sw.node.StUFURL()
	return sw, nil
}

// close stops the switch and removes its data; safe on a partly started
// switch.
func (sw *conformanceSwitch) close(ctx context.Context) {
	if sw.node != nil {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		sw.node.Shutdown(sctx) // the run is over; nothing to report to
		cancel()
	}
	if sw.dir != "" {
		os.RemoveAll(sw.dir)
	}
}

// runConformanceCheck is the validatiemodule for senders: the verdict the
// switch's validation would give each file, without routing or storing.
func runConformanceCheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("conformance check", flag.ContinueOnError)
	schemas := fs.String("schemas", "", "directory of an XSD release bundle; default the embedded schemas")
	if code, done := parseFlags(fs, args, usageWithFlags(fs, conformanceUsage+"\nFlags of check:\n"), stdout, stderr); done {
		return code
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "knooppunt conformance check: no message files")
		return 2
	}
	set, err := xsd.Load(xsd.Config{Dir: *schemas, Lazy: true})
	if err != nil {
		fmt.Fprintf(stderr, "knooppunt conformance check: loading schemas: %v\n", err)
		return 2
	}
	defer set.Close()
	status := 0
	var out strings.Builder
	for _, name := range fs.Args() {
		msg, err := os.ReadFile(name)
		if err != nil {
			fmt.Fprintf(stderr, "knooppunt conformance check: %v\n", err)
			status = 2
			continue
		}
		h, tree, err := set.ValidateTree(msg)
		if err == nil {
			if !checkRules(&out, name, h, tree) && status == 0 {
				status = 1
			}
			continue
		}
		var xe *xsd.Error
		if !errors.As(err, &xe) {
			fmt.Fprintf(stderr, "knooppunt conformance check: %s: %v\n", name, err)
			status = 2
			continue
		}
		if status == 0 {
			status = 1
		}
		fmt.Fprintf(&out, "%s: refused: %d %s: %s\n", name, httpStatusOf(xe.Code), xe.Code, xe.Detail)
		for _, v := range xe.Violations {
			fmt.Fprintf(&out, "  line %d column %d: %s\n", v.Line, v.Column, v.Message)
		}
		if xe.Omitted > 0 {
			fmt.Fprintf(&out, "  (%d further violations not listed)\n", xe.Omitted)
		}
		fmt.Fprintf(&out, "  retour: none: control level 1 is answered with this error, not a retourbericht\n")
	}
	io.WriteString(stdout, out.String())
	return status
}

// checkRules runs the level-2 rules on a message that passed its XSD and
// reports the verdict: accepted, or the retourbericht the switch answers
// with. It reports whether the message was accepted.
func checkRules(out *strings.Builder, name string, h bericht.Header, tree *bericht.Tree) bool {
	findings := rules.Check(h, tree)
	if len(findings) == 0 {
		fmt.Fprintf(out, "%s: accepted: %s %s from %s to %s, Identificatie %s\n", name, h.Soort.Name, h.BerichtCode, h.Afzender, h.Ontvanger, h.Identificatie)
		return true
	}
	answer, err := retour.AnswerSoort(h.Soort)
	answerName := "retourbericht"
	if err == nil {
		answerName = answer.Name
	}
	// The switch's answer carries 0001 whatever the rules (retour.Reject);
	// a finding of a rule across messages names that rule's own code.
	fmt.Fprintf(out, "%s: refused at control level 2: the switch answers with a %s carrying RetourCode %s and does not deliver it\n",
		name, answerName, retour.CodeTechnisch)
	for _, f := range findings {
		fmt.Fprintf(out, "  line %d %s %s (retourcode %s): %s\n", f.Line, f.Path, f.Rule, f.Retourcode, f.Text)
	}
	return false
}

// httpStatusOf is the status the switch answers a validator refusal with.
func httpStatusOf(code string) int {
	switch node.ValidationKind(code) {
	case gateway.KindTooLarge:
		return 413
	case gateway.KindMalformed:
		return 400
	case gateway.KindInvalid:
		return 422
	}
	return 500
}
