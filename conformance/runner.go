package conformance

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/knooppunt/knooppunt/bericht"
)

// Features a case may require beyond the HTTP API of docs/api.md. A
// case whose feature is missing is reported as skipped, with the reason,
// never as passed.
const (
	// FeatureLease: the run knows the target's lease (visibility timeout)
	// and may wait for it to expire (Config.Lease).
	FeatureLease = "lease"
	// FeatureRetour: the switch answers a heenbericht that breaks a
	// level-2 rule with a retourbericht of its own.
	FeatureRetour = "retour"
)

// missing says why a run lacks a feature.
var missing = map[string]string{
	FeatureLease:  "needs the target's lease (visibility timeout) to wait for it: runs in-process, or over --target with --lease",
	FeatureRetour: "needs a target that answers level-2 rule breaches with a retourbericht of its own: runs in-process, or over --target with --feature retour when the target does (serve --answer-rules)",
}

// Config configures a run of the suite.
type Config struct {
	// Target is the base URL of the switch under test, e.g.
	// "http://127.0.0.1:8080". Required.
	Target string
	// SOAPTarget is the URL of its StUF-GGk SOAP endpoint. Empty: cases
	// that require FeatureSOAP are skipped.
	SOAPTarget string
	// Client makes the requests. Default: a client with a 2-minute
	// timeout (a 25 MB post on a loaded machine).
	Client *http.Client
	// Tokens maps a party code (or "operator") to its bearer token.
	// Parties not listed use the dev registry's "dev-<code>", unless
	// NamedPartiesOnly.
	Tokens map[string]string
	// NamedPartiesOnly restricts the run to the parties in Tokens, for a
	// target whose mailboxes belong to real parties: a case that would
	// act as another party, or post a message whose header names one, is
	// skipped before it makes any request, so the run never polls (and
	// leases) nor fills another party's mailbox. Track and trace for the
	// clean-up is read as "operator" only if Tokens names it.
	NamedPartiesOnly bool
	// Lease is the target's visibility timeout. Zero means unknown: cases
	// that wait for a lease to expire are skipped.
	Lease time.Duration
	// Features lists further features the target has (FeatureRetour).
	Features []string
	// Run, if set, selects the cases whose name it matches.
	Run *regexp.Regexp
	// Parallel is how many cases run at once. Default DefaultParallel. Cases that poll
	// a mailbox hold that mailbox for themselves while they run.
	Parallel int
	// Prefix starts every Identificatie of the run (5 characters [0-9a-z]).
	// Default: random, so a second run against the same target collides
	// with nothing of the first.
	Prefix string
	// Now is the clock for {{today}}. Default time.Now.
	Now func() time.Time
	// Progress, if set, is called after each case with the number done and
	// the number selected, from the goroutine that ran it.
	Progress func(done, total int)
	// MaxLimitWait bounds how long one request may wait out the target's
	// limits: a 429 answer is repeated after its Retry-After (at most
	// maxRetryAfter each time) until this much time has passed, unless the
	// case expects the 429 itself. Default one minute; negative: no waits.
	MaxLimitWait time.Duration
}

// maxRetryAfter caps one wait for a 429, whatever Retry-After says.
const maxRetryAfter = 10 * time.Second

// Outcome is the verdict on one case.
type Outcome string

// The outcomes of a case.
const (
	Pass Outcome = "pass"
	Fail Outcome = "fail"
	Skip Outcome = "skip"
)

// Result is the verdict on one case.
type Result struct {
	Case    *Case
	Outcome Outcome
	// Line is the line of the failing step or expectation (Fail).
	Line int
	// Message says what was expected, or why the case was skipped.
	Message string
	// Seen is what the switch answered, for a failure.
	Seen     string
	Duration time.Duration
	// Waits counts the 429 answers the case waited out, and Waited is how
	// long it waited for them in all.
	Waits  int
	Waited time.Duration
}

// Where is "file:line" of a failure, or the file of another result.
func (r Result) Where() string {
	if r.Line > 0 {
		return fmt.Sprintf("%s:%d", r.Case.File, r.Line)
	}
	return r.Case.File
}

// Report is the outcome of a run.
type Report struct {
	Results                 []Result
	Passed, Failed, Skipped int
	Duration                time.Duration
	// Waits and Waited add up the cases' waits for the target's limits.
	Waits  int
	Waited time.Duration
}

// Summary is the line "N passed, M failed" with ", K skipped" when any
// case was skipped.
func (r *Report) Summary() string {
	s := fmt.Sprintf("%d passed, %d failed", r.Passed, r.Failed)
	if r.Skipped > 0 {
		s += fmt.Sprintf(", %d skipped", r.Skipped)
	}
	return s
}

// WriteText writes one line per case — "ok", "SKIP" with the reason, or
// "FAIL" with file:line, the expectation and what was seen — and the
// summary line last. quiet leaves out the passed and skipped cases.
func (r *Report) WriteText(w io.Writer, quiet bool) error {
	var b strings.Builder
	for _, res := range r.Results {
		switch res.Outcome {
		case Fail:
			fmt.Fprintf(&b, "FAIL %s %s: %s\n", res.Case.Name, res.Where(), res.Message)
			if res.Seen != "" {
				fmt.Fprintf(&b, "     seen: %s\n", res.Seen)
			}
		case Skip:
			if !quiet {
				fmt.Fprintf(&b, "SKIP %s: %s\n", res.Case.Name, res.Message)
			}
		case Pass:
			if !quiet {
				fmt.Fprintf(&b, "ok   %s (%s%s)\n", res.Case.Name, res.Duration.Round(time.Millisecond), waitNote(res.Waits, res.Waited))
			}
		}
	}
	if r.Waits > 0 {
		fmt.Fprintf(&b, "429 waited out %d×, %s in all: the target's limits slowed the run, the verdicts do not depend on them\n",
			r.Waits, r.Waited.Round(time.Millisecond))
	}
	fmt.Fprintf(&b, "%s\n", r.Summary())
	_, err := io.WriteString(w, b.String())
	return err
}

// waitNote is "; waited …" for a case that waited for the target's limits.
func waitNote(n int, d time.Duration) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("; 429 waited out %d×, %s", n, d.Round(time.Millisecond))
}

// run is the state of one run.
type run struct {
	cfg      Config
	client   *http.Client
	prefix   string
	today    time.Time
	features map[string]bool
	boxes    sync.Map // party → *sync.Mutex, held by a case polling it
}

// Run runs cases against cfg.Target and reports on each. It returns an
// error only when the run cannot start; failing cases are in the Report.
func Run(ctx context.Context, cfg Config, cases []*Case) (*Report, error) {
	if cfg.Target == "" {
		return nil, errors.New("conformance: no target URL")
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 2 * time.Minute, Transport: http.DefaultTransport.(*http.Transport).Clone()}
		defer cfg.Client.CloseIdleConnections() // no keep-alive goroutines outlive the run
	}
	if cfg.Parallel <= 0 {
		cfg.Parallel = DefaultParallel
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxLimitWait == 0 {
		cfg.MaxLimitWait = time.Minute
	}
	cfg.Target = strings.TrimRight(cfg.Target, "/")
	r := &run{cfg: cfg, client: cfg.Client, prefix: cfg.Prefix, today: cfg.Now().UTC(), features: map[string]bool{}}
	if r.prefix == "" {
		r.prefix = randomPrefix()
	}
	if len(r.prefix) != prefixLen || strings.Trim(r.prefix, "0123456789abcdefghijklmnopqrstuvwxyz") != "" {
		return nil, fmt.Errorf("conformance: prefix %q: want %d characters [0-9a-z]", r.prefix, prefixLen)
	}
	for _, f := range cfg.Features {
		r.features[f] = true
	}
	if cfg.Lease > 0 {
		r.features[FeatureLease] = true
	}
	if cfg.SOAPTarget != "" {
		r.features[FeatureSOAP] = true
	}

	start := time.Now()
	var selected []*Case
	for _, c := range cases {
		if cfg.Run == nil || cfg.Run.MatchString(c.Name) {
			selected = append(selected, c)
		}
	}
	results := make([]Result, len(selected))
	work := make(chan int)
	var wg sync.WaitGroup
	var done atomic.Int64
	for range min(cfg.Parallel, max(len(selected), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				results[i] = r.runCase(ctx, selected[i])
				if cfg.Progress != nil {
					cfg.Progress(int(done.Add(1)), len(selected))
				}
			}
		}()
	}
	for i := range selected {
		work <- i
	}
	close(work)
	wg.Wait()

	rep := &Report{Results: results, Duration: time.Since(start)}
	for _, res := range results {
		switch res.Outcome {
		case Pass:
			rep.Passed++
		case Fail:
			rep.Failed++
		case Skip:
			rep.Skipped++
		}
		rep.Waits += res.Waits
		rep.Waited += res.Waited
	}
	return rep, nil
}

// randomPrefix draws a run prefix of prefixLen characters [0-9a-z].
func randomPrefix() string {
	const alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
	var b [prefixLen]byte
	rand.Read(b[:]) // never fails (crypto/rand)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:])
}

// response is what the last request of a case got.
type response struct {
	verb   string
	status int
	body   []byte
	json   map[string]any
	listed []string // poll: ids listed
	codes  []string // retour: RetourCodes found
	code   string   // soap: "Bv03" or the Fo03 code
}

// seen is a short description of the response for a failure report.
func (p *response) seen() string {
	if p == nil {
		return ""
	}
	body := string(p.body)
	if p.verb == "fetch" && p.status == http.StatusOK {
		body = fmt.Sprintf("%d bytes", len(p.body))
	}
	if len(body) > 400 {
		body = body[:400] + "…"
	}
	s := fmt.Sprintf("%d %s", p.status, strings.TrimSpace(body))
	if p.verb == "soap" {
		s = fmt.Sprintf("%d %s", p.status, p.code)
	}
	if p.listed != nil {
		s += fmt.Sprintf(" (%d listed in all)", len(p.listed))
	}
	if p.codes != nil {
		s += fmt.Sprintf(" (retourcodes %s)", strings.Join(p.codes, ","))
	}
	return s
}

// caseRun is the state of one case.
type caseRun struct {
	*run
	c      *Case
	msgs   map[string]*message
	posted map[string]string // message name → id the switch gave it
	stored []stored          // accepted messages, to confirm afterwards
	last   *response
	refs   map[string]string // soap: referentienummer per label
	// expect429: the step's own expectation is a 429, which is then
	// reported, not waited out.
	expect429 bool
	// prebuilt: every message was built before the first step
	// (NamedPartiesOnly reads their headers).
	prebuilt bool
	waits    int
	waited   time.Duration
}

type stored struct{ id, ontvanger string }

// failure ends a case at a line.
type failure struct {
	line int
	msg  string
	seen string
}

func (f *failure) Error() string { return f.msg }

func (r *run) runCase(ctx context.Context, c *Case) (res Result) {
	start := time.Now()
	res = Result{Case: c}
	defer func() { res.Duration = time.Since(start) }()
	for _, f := range c.Requires {
		if !r.features[f] {
			why, ok := missing[f]
			if !ok {
				why = fmt.Sprintf("requires %q, which this runner does not know", f)
			}
			res.Outcome, res.Message = Skip, why
			return res
		}
	}
	cr := &caseRun{run: r, c: c, msgs: map[string]*message{}, posted: map[string]string{}}
	if r.cfg.NamedPartiesOnly {
		party, f := cr.unnamedParty()
		if f != nil {
			res.Outcome, res.Line, res.Message = Fail, f.line, f.msg
			return res
		}
		if party != "" {
			res.Outcome, res.Message = Skip, fmt.Sprintf("acts as or writes to party %s, which has no token: against a target the runner uses only the test parties it is given (--token, --tokens)", party)
			return res
		}
	}
	// A case polling a mailbox holds it: a concurrent poll would lease
	// (and hide) its messages.
	for _, party := range polled(c) {
		mu, _ := r.boxes.LoadOrStore(party, &sync.Mutex{})
		mu.(*sync.Mutex).Lock()
		defer mu.(*sync.Mutex).Unlock()
	}
	defer func() { res.Waits, res.Waited = cr.waits, cr.waited }()
	defer cr.cleanup(ctx)
	for i, st := range c.Steps {
		cr.expect429 = i+1 < len(c.Steps) && c.Steps[i+1].Verb == "expect" && c.Steps[i+1].Args[0] == "429"
		if err := cr.step(ctx, st); err != nil {
			var f *failure
			if !errors.As(err, &f) {
				f = &failure{line: st.Line, msg: err.Error()}
			}
			res.Outcome, res.Line, res.Message, res.Seen = Fail, f.line, f.msg, f.seen
			return res
		}
	}
	res.Outcome = Pass
	return res
}

// polled lists the parties whose mailbox a case polls, sorted (locks are
// taken in this order).
func polled(c *Case) []string {
	var out []string
	for _, st := range c.Steps {
		if st.Verb == "poll" || st.Verb == "retour" {
			if !slices.Contains(out, st.Args[0]) {
				out = append(out, st.Args[0])
			}
		}
	}
	sort.Strings(out)
	return out
}

// step runs one directive.
func (cr *caseRun) step(ctx context.Context, st Step) error {
	switch st.Verb {
	case "message":
		if cr.prebuilt {
			return nil
		}
		m, err := cr.build(cr.c, st, cr.msgs)
		if err != nil {
			return err
		}
		cr.msgs[m.name] = m
		return nil
	case "post", "validate":
		return cr.post(ctx, st)
	case "batch":
		return cr.batch(ctx, st)
	case "poll":
		return cr.poll(ctx, st)
	case "fetch", "confirm", "trace":
		id, ok := cr.posted[st.Args[1]]
		if !ok {
			return fmt.Errorf("message %s was not accepted by an earlier post", st.Args[1])
		}
		method, path := http.MethodGet, "/v1/mailbox/"+id
		switch st.Verb {
		case "confirm":
			method = http.MethodDelete
		case "trace":
			path = "/v1/berichten/" + id
		}
		p, err := cr.do(ctx, method, path, st.Args[0], nil, nil)
		if err != nil {
			return err
		}
		p.verb = st.Verb
		cr.last = p
		return nil
	case "retour":
		return cr.retour(ctx, st)
	case "soap":
		return cr.soap(ctx, st)
	case "wait-lease":
		t := time.NewTimer(cr.cfg.Lease + cr.cfg.Lease/4 + 50*time.Millisecond)
		defer t.Stop()
		select {
		case <-t.C:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	case "expect":
		return cr.expect(st)
	}
	return fmt.Errorf("directive %q is not implemented", st.Verb)
}

// token is the bearer token of party; "-" means none.
func (cr *caseRun) token(party string) string {
	if party == "-" {
		return ""
	}
	if t, ok := cr.cfg.Tokens[party]; ok {
		return t
	}
	return "dev-" + party
}

// do makes one request as party and reads the whole answer.
func (cr *caseRun) do(ctx context.Context, method, path, party string, body []byte, header http.Header) (*response, error) {
	chunked := header.Get(chunkedHeader) != ""
	if chunked {
		header = header.Clone()
		header.Del(chunkedHeader)
	}
	resp, err := cr.send(ctx, func() (*http.Request, error) {
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		if chunked {
			// Hide the length: the body goes chunked, without Content-Length.
			rd = io.MultiReader(rd)
		}
		req, err := http.NewRequestWithContext(ctx, method, cr.cfg.Target+path, rd)
		if err != nil {
			return nil, fmt.Errorf("building request %s %s: %w", method, path, err)
		}
		for k, v := range header {
			req.Header[k] = v
		}
		if t := cr.token(party); t != "" && req.Header.Get("Authorization") == "" {
			req.Header.Set("Authorization", "Bearer "+t)
		}
		return req, nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("reading the answer to %s %s: %w", method, path, err)
	}
	p := &response{status: resp.StatusCode, body: data}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		json.Unmarshal(data, &p.json) // a body that is no object leaves json nil, and expectations on it fail
	}
	return p, nil
}

// send makes the request build returns. A 429 is waited out and the
// request made anew (build is called again) after Retry-After, for at most
// Config.MaxLimitWait in all, unless the case expects the 429: a target's
// rate and concurrency limits then decide how long a run takes, never its
// verdict. Each wait is counted for the report.
func (cr *caseRun) send(ctx context.Context, build func() (*http.Request, error)) (*http.Response, error) {
	var spent time.Duration
	for {
		req, err := build()
		if err != nil {
			return nil, err
		}
		resp, err := cr.client.Do(req)
		if err != nil || resp.StatusCode != http.StatusTooManyRequests || cr.expect429 {
			return resp, err
		}
		wait := retryAfter(resp.Header.Get("Retry-After"))
		if spent+wait > cr.cfg.MaxLimitWait {
			return resp, nil // the 429 stands, and the case reports it
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)) // so the connection is reused
		resp.Body.Close()
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		}
		spent += wait
		cr.waits++
		cr.waited += wait
	}
}

// retryAfter reads a Retry-After of whole seconds, bounded by
// maxRetryAfter; a missing or unreadable one counts as one second.
func retryAfter(v string) time.Duration {
	s, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || s < 1 {
		return time.Second
	}
	return min(time.Duration(s)*time.Second, maxRetryAfter)
}

// chunkedHeader marks a request to send without Content-Length; the
// runner removes it before sending.
const chunkedHeader = "X-Conformance-Chunked"

// post is "post AS NAME [content-type=…] [token=…]" and "validate AS NAME".
func (cr *caseRun) post(ctx context.Context, st Step) error {
	m := cr.msgs[st.Args[1]]
	h := http.Header{"Content-Type": {"application/xml"}}
	chunked := false
	for _, k := range st.Keys {
		switch v := st.Opts[k]; k {
		case "content-type":
			if v == "" {
				h.Del("Content-Type")
			} else {
				h.Set("Content-Type", v)
			}
		case "token":
			h.Set("Authorization", "Bearer "+v)
		case "chunked":
			chunked = v == "true"
		default:
			return fmt.Errorf("%s: unknown option %s", st.Verb, k)
		}
	}
	path := "/v1/berichten"
	if st.Verb == "validate" {
		path = "/v1/validate"
	}
	if chunked {
		h.Set(chunkedHeader, "true")
	}
	p, err := cr.do(ctx, http.MethodPost, path, st.Args[0], m.body, h)
	if err != nil {
		return err
	}
	p.verb = st.Verb
	cr.last = p
	if st.Verb == "post" && (p.status == http.StatusOK || p.status == http.StatusAccepted) {
		id, _ := p.json["id"].(string)
		if id != "" {
			if _, ok := cr.posted[m.name]; !ok {
				cr.posted[m.name] = id
			}
			ontvanger, _ := p.json["ontvanger"].(string)
			cr.stored = append(cr.stored, stored{id: id, ontvanger: ontvanger})
		}
	}
	return nil
}

// batch is "batch AS NAME": POST /v1/berichten/batch with the ZIP NAME.
// Each message the batch stores counts as posted under its own name.
func (cr *caseRun) batch(ctx context.Context, st Step) error {
	m := cr.msgs[st.Args[1]]
	h := http.Header{"Content-Type": {"application/zip"}}
	p, err := cr.do(ctx, http.MethodPost, "/v1/berichten/batch", st.Args[0], m.body, h)
	if err != nil {
		return err
	}
	p.verb = "batch"
	cr.last = p
	results, _ := p.json["results"].([]any)
	for i, r := range results {
		o, _ := r.(map[string]any)
		id := str(o, "id")
		if id == "" {
			continue
		}
		if i < len(m.parts) {
			if _, ok := cr.posted[m.parts[i]]; !ok {
				cr.posted[m.parts[i]] = id
			}
		}
		cr.stored = append(cr.stored, stored{id: id, ontvanger: str(o, "ontvanger")})
	}
	return nil
}

// batchResults is the result (or refusal code) of each message of a batch
// answer, in archive order: "stored,xsd-invalid,duplicate".
func batchResults(m map[string]any) string {
	results, _ := m["results"].([]any)
	out := make([]string, 0, len(results))
	for _, r := range results {
		o, _ := r.(map[string]any)
		if c := str(o, "code"); c != "" {
			out = append(out, c)
		} else {
			out = append(out, str(o, "result"))
		}
	}
	return strings.Join(out, ",")
}

// maxPages bounds how far a poll pages through a mailbox: messages left
// unconfirmed by other clients stay leased in front of the case's own.
const maxPages = 20

// poll is "poll AS": list the mailbox page by page (each listing leases
// what it returns) until a page is short.
func (cr *caseRun) poll(ctx context.Context, st Step) error {
	all := &response{verb: "poll", listed: []string{}}
	for range maxPages {
		p, err := cr.do(ctx, http.MethodGet, "/v1/mailbox?limit=250", st.Args[0], nil, nil)
		if err != nil {
			return err
		}
		all.status, all.body, all.json = p.status, p.body, p.json
		if p.status != http.StatusOK {
			break
		}
		list, _ := p.json["berichten"].([]any)
		for _, e := range list {
			if o, ok := e.(map[string]any); ok {
				if id, ok := o["id"].(string); ok {
					all.listed = append(all.listed, id)
				}
			}
		}
		if len(list) < 250 {
			break
		}
	}
	cr.last = all
	return nil
}

// retourCode finds the RetourCode values in a message.
var retourCode = regexp.MustCompile(`<(?:[A-Za-z0-9_]+:)?RetourCode>([0-9A-Z]{4})</`)

// retour is "retour AS HEEN": find in AS's mailbox the retourbericht the
// switch made for HEEN, and read its RetourCodes.
func (cr *caseRun) retour(ctx context.Context, st Step) error {
	heen := cr.msgs[st.Args[1]]
	pair, ok := bericht.Lookup(heen.soort.Pair)
	if !ok {
		return fmt.Errorf("message %s has no retour berichtsoort", heen.name)
	}
	if err := cr.poll(ctx, st); err != nil {
		return err
	}
	list := cr.last
	found := &response{verb: "retour", status: list.status, body: list.body, json: list.json}
	for _, id := range list.listed {
		p, err := cr.do(ctx, http.MethodGet, "/v1/mailbox/"+id, st.Args[0], nil, nil)
		if err != nil {
			return err
		}
		if p.status != http.StatusOK || !bytes.Contains(p.body, []byte(pair.Namespace)) ||
			!bytes.Contains(p.body, []byte(">"+heen.ident+"<")) {
			continue
		}
		found.status, found.body = p.status, p.body
		found.codes = []string{}
		for _, m := range retourCode.FindAllSubmatch(p.body, -1) {
			found.codes = append(found.codes, string(m[1]))
		}
		cr.stored = append(cr.stored, stored{id: id, ontvanger: st.Args[0]})
		cr.last = found
		return nil
	}
	found.status = http.StatusNotFound
	found.body = []byte(fmt.Sprintf("no %s answering %s among the %d messages listed", pair.Name, heen.name, len(list.listed)))
	cr.last = found
	return nil
}

// cleanup confirms what the case's messages left in mailboxes, so a
// target's mailboxes do not fill up with runs of the suite.
func (cr *caseRun) cleanup(ctx context.Context) {
	for _, s := range cr.stored {
		owner := s.ontvanger
		if cr.named("operator") {
			if p, err := cr.do(ctx, http.MethodGet, "/v1/berichten/"+s.id, "operator", nil, nil); err == nil && p.status == http.StatusOK {
				if o, ok := p.json["ontvanger"].(string); ok && o != "" {
					owner = o
				}
			}
		}
		if owner != "" && cr.named(owner) {
			cr.do(ctx, http.MethodDelete, "/v1/mailbox/"+s.id, owner, nil, nil) // best effort
		}
	}
}

// expect checks the last response against "expect STATUS [CODE] [key=value…]".
func (cr *caseRun) expect(st Step) error {
	p := cr.last
	fail := func(format string, args ...any) error {
		return &failure{line: st.Line, msg: fmt.Sprintf(format, args...), seen: p.seen()}
	}
	want, _ := strconv.Atoi(st.Args[0])
	if p.status != want {
		return fail("want HTTP status %d after %s, got %d", want, p.verb, p.status)
	}
	if len(st.Args) == 2 {
		code := str(p.json, "code")
		if code == "" {
			code = str(p.json, "status")
		}
		if p.verb == "soap" {
			code = soapCode(p)
		}
		if st.Args[1] != code {
			return fail("want code %q, got %q", st.Args[1], code)
		}
	}
	for _, k := range st.Keys {
		v := st.Opts[k]
		switch k {
		case "ontvanger", "berichtsoort", "afzender", "identificatie", "berichtcode":
			if got := str(p.json, k); got != v {
				return fail("want %s %q, got %q", k, v, got)
			}
		case "valid", "accepted", "rejected":
			if got := fmt.Sprint(p.json[k]); got != v {
				return fail("want %s %s, got %s", k, v, got)
			}
		case "results":
			if got := batchResults(p.json); got != v {
				return fail("want batch results %s, got %s", v, got)
			}
		case "id", "retour", "heen":
			wantID, ok := cr.posted[v]
			if !ok {
				return fail("%s=%s: message %s was not accepted by an earlier post", k, v, v)
			}
			if got := str(p.json, k); got != wantID {
				return fail("want %s %s (the id of %s), got %q", k, wantID, v, got)
			}
		case "line", "column":
			if !hasViolation(p.json, st.Opts) {
				return fail("want a violation at line %s column %s", or(st.Opts["line"], "any"), or(st.Opts["column"], "any"))
			}
		case "violations":
			n, _ := p.json["violations"].([]any)
			if strconv.Itoa(len(n)) != v {
				return fail("want %s violations, got %d", v, len(n))
			}
		case "bytes":
			if !bytes.Equal(p.body, cr.msgs[v].body) {
				return fail("want the exact bytes of %s (%d bytes), got %d other bytes", v, len(cr.msgs[v].body), len(p.body))
			}
		case "listed", "absent":
			id, ok := cr.posted[v]
			if !ok {
				return fail("%s=%s: message %s was not accepted by an earlier post", k, v, v)
			}
			if got := slices.Contains(p.listed, id); got != (k == "listed") {
				return fail("want %s %s in the mailbox listing", map[bool]string{true: "", false: "no"}[k == "listed"]+"message", v)
			}
		case "state":
			if !hasState(p.json, v) {
				return fail("want an event %q in track & trace", v)
			}
		case "retourcodes":
			if got := strings.Join(p.codes, ","); got != v {
				return fail("want retourcodes %s, got %q", v, got)
			}
		default:
			return fail("unknown expectation %s", k)
		}
	}
	return nil
}

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// hasViolation: some violation has the line and column asked for.
func hasViolation(m map[string]any, opts map[string]string) bool {
	vs, _ := m["violations"].([]any)
	for _, v := range vs {
		o, _ := v.(map[string]any)
		ok := true
		for _, k := range []string{"line", "column"} {
			if want, set := opts[k]; set && fmt.Sprint(o[k]) != want {
				ok = false
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func hasState(m map[string]any, state string) bool {
	evs, _ := m["events"].([]any)
	for _, e := range evs {
		if o, ok := e.(map[string]any); ok && o["state"] == state {
			return true
		}
	}
	return false
}
