package delivery

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/knooppunt/knooppunt/audit"
	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/gateway"
	"github.com/knooppunt/knooppunt/routing"
	"github.com/knooppunt/knooppunt/store"
	"github.com/knooppunt/knooppunt/stuf"
)

// Kind is the convention an endpoint speaks.
type Kind string

// The push conventions.
const (
	KindStUF Kind = "stuf" // gemeenten: StUF-GGk Di01/Du01 over SOAP
	KindREST Kind = "rest" // aanbieders: VSP REST push (multipart)
)

// Endpoint is where one party's messages are pushed.
type Endpoint struct {
	Party string
	URL   string
	Kind  Kind
	// AnyStatus confirms a StUF push with any 2xx status, without a Bv03
	// (the registry's push_ack: http), for an endpoint that answers
	// plainly; otherwise a Bv03 confirms it.
	AnyStatus bool
}

// Mailbox is what delivery needs of the store; every store.Store has it.
type Mailbox interface {
	List(ctx context.Context, party string, limit int) ([]store.Entry, error)
	Get(ctx context.Context, party string, id store.ID) ([]byte, error)
	Ack(ctx context.Context, party string, id store.ID) error
	// Quarantine moves a message that cannot be delivered out of the way
	// at once; reason is a short code, never content. When it fails, the
	// message is parked: not tried again, left leased, and quarantined by
	// the store itself once it has been listed its MaxDeliveries times.
	Quarantine(ctx context.Context, party string, id store.ID, reason string) error
	// Meta tells whose heenbericht an answer answers.
	Meta(ctx context.Context, id store.ID) (*store.Meta, error)
}

// Reasons given to Mailbox.Quarantine.
const (
	ReasonAttempts = "delivery-attempts" // MaxAttempts attempts failed
	ReasonRefused  = "delivery-refused"  // the endpoint refused it for good
)

// Defaults of Config.
const (
	DefaultMaxAttempts      = 8
	DefaultBaseBackoff      = time.Second
	DefaultMaxBackoff       = 5 * time.Minute
	DefaultAttemptTimeout   = 30 * time.Second
	DefaultBreakerThreshold = 5
	DefaultBreakerCooldown  = 30 * time.Second
	DefaultPollInterval     = time.Second
	DefaultRefreshInterval  = 10 * time.Second
	DefaultBatch            = 50
)

// Config configures a Pusher. Mailbox and Endpoints are required; every
// other field has the default its comment gives.
type Config struct {
	// Mailbox is the store.
	Mailbox Mailbox
	// Feed, if set, is the store's change feed: the pusher follows it and
	// wakes a party's worker as soon as a message is filed in its
	// mailbox, instead of at its next poll. The mailbox stays the source
	// of what is to be delivered; a wake missed only waits for the poll.
	// Nil: workers poll only.
	Feed store.Feed
	// Endpoints returns the push endpoints of the registry in force
	// (FromBook). It is called for every attempt, so it must be cheap.
	Endpoints func() []Endpoint
	// Client sends the requests; its TLS config carries the switch's
	// client certificate. Default: a client with no overall timeout (each
	// attempt has AttemptTimeout).
	Client *http.Client
	// Signer, if set, signs every SOAP push (WUS 2W-be-S).
	Signer *stuf.Signer
	// Trust, if set, names the certificates a gemeente signs its answers
	// with: a Bv03 from a party that must sign needs a valid signature
	// (WB013), or the attempt counts as failed (stuf.VerifyParty).
	Trust stuf.Trust
	// Refs, if set, learns the referentienummer of every Di01 pushed, so
	// the gemeente's Du01 answering it is accepted.
	Refs stuf.Refs
	// Audit, if set, records every pushed message as fetched by its
	// recipient (audit.Fetched, Detail "push") before the message is
	// confirmed in the mailbox: a message whose record cannot be written
	// is not confirmed and is pushed again after its lease, as the
	// gateway answers no fetch it could not record.
	Audit audit.Recorder
	// Organisatie and Applicatie name the switch in envelopes. Defaults
	// "KNOOPPUNT", "Knooppunt".
	Organisatie, Applicatie string

	// MaxAttempts is how often a message is tried before it goes to
	// quarantine. Default 8.
	MaxAttempts int
	// BaseBackoff and MaxBackoff bound the wait after a failed attempt:
	// BaseBackoff·2^(n-1), at most MaxBackoff, of which a random half is
	// jitter. Defaults 1 s and 5 min.
	BaseBackoff, MaxBackoff time.Duration
	// AttemptTimeout bounds one attempt, so a hanging endpoint counts as
	// a failure. Default 30 s.
	AttemptTimeout time.Duration
	// BreakerThreshold consecutive failures open an endpoint's circuit
	// breaker for BreakerCooldown; then one attempt probes it. Defaults 5
	// and 30 s.
	BreakerThreshold int
	BreakerCooldown  time.Duration
	// PollInterval is how often an idle worker looks at its mailbox
	// (Notify, and the Feed, wake it sooner). Default 1 s.
	PollInterval time.Duration
	// RefreshInterval is how often workers are started and stopped to
	// follow the registry. Default 10 s.
	RefreshInterval time.Duration
	// Batch is how many messages one List leases. Default 50.
	Batch int

	// Logger receives delivery outcomes and the quarantine alert, with
	// party and message id, never content. Default: disabled.
	Logger zerolog.Logger
	// Registerer, if set, receives the metrics.
	Registerer prometheus.Registerer
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Pusher runs one delivery worker per push endpoint. Create it with New
// and run it with Run.
type Pusher struct {
	cfg     Config
	metrics metrics

	mu      sync.Mutex
	workers map[string]*worker
	parked  map[store.ID]bool // used up their attempts, and quarantining failed
}

type metrics struct {
	attempts    *prometheus.CounterVec
	quarantined prometheus.Counter
	breakers    prometheus.Gauge
}

// New checks cfg and returns a Pusher.
func New(cfg Config) (*Pusher, error) {
	if cfg.Mailbox == nil || cfg.Endpoints == nil {
		return nil, errors.New("delivery: Config needs Mailbox and Endpoints")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	defInt := func(d *int, v int) {
		if *d <= 0 {
			*d = v
		}
	}
	defInt(&cfg.MaxAttempts, DefaultMaxAttempts)
	defInt(&cfg.BreakerThreshold, DefaultBreakerThreshold)
	defInt(&cfg.Batch, DefaultBatch)
	def(&cfg.BaseBackoff, DefaultBaseBackoff)
	def(&cfg.MaxBackoff, DefaultMaxBackoff)
	def(&cfg.AttemptTimeout, DefaultAttemptTimeout)
	def(&cfg.BreakerCooldown, DefaultBreakerCooldown)
	def(&cfg.PollInterval, DefaultPollInterval)
	def(&cfg.RefreshInterval, DefaultRefreshInterval)
	if cfg.Client == nil {
		cfg.Client = &http.Client{}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Organisatie == "" {
		cfg.Organisatie = "KNOOPPUNT"
	}
	if cfg.Applicatie == "" {
		cfg.Applicatie = "Knooppunt"
	}
	p := &Pusher{cfg: cfg, workers: map[string]*worker{}, parked: map[store.ID]bool{}}
	p.metrics = metrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "knooppunt_delivery_attempts_total",
			Help: "Push delivery attempts by convention and outcome (delivered, failed, refused).",
		}, []string{"kind", "outcome"}),
		quarantined: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "knooppunt_delivery_quarantined_total",
			Help: "Messages that used up their push attempts or were refused for good: an operator must look (alert on any increase).",
		}),
		breakers: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "knooppunt_delivery_breakers_open",
			Help: "Push endpoints whose circuit breaker is open.",
		}),
	}
	if cfg.Registerer != nil {
		for _, c := range []prometheus.Collector{p.metrics.attempts, p.metrics.quarantined, p.metrics.breakers} {
			if err := cfg.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("registering delivery metrics: %w", err)
			}
		}
	}
	return p, nil
}

// FromBook returns the push endpoints of the registry in force in book:
// every active party with delivery: push, gemeenten and
// samenwerkingsverbanden over StUF, aanbieders over REST.
func FromBook(book *routing.Book) func() []Endpoint {
	return func() []Endpoint {
		var out []Endpoint
		for _, p := range book.Registry().Principals() {
			if !p.Role.IsParty() || !p.Active || p.Delivery != routing.DeliveryPush || p.PushURL == "" {
				continue
			}
			kind := KindStUF
			if p.Role.Acts() == bericht.Aanbieder {
				kind = KindREST
			}
			out = append(out, Endpoint{Party: p.ID, URL: p.PushURL, Kind: kind, AnyStatus: p.PushAck == routing.PushAckHTTP})
		}
		return out
	}
}

// Run starts and stops workers to follow the registry until ctx ends, then
// waits for them. A message in flight when ctx ends is not confirmed; it is
// listed again after its lease.
func (p *Pusher) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer func() {
		p.mu.Lock()
		for party, w := range p.workers {
			w.cancel()
			delete(p.workers, party)
		}
		p.mu.Unlock()
		wg.Wait()
	}()
	if p.cfg.Feed != nil {
		wg.Go(func() { p.follow(ctx) })
	}
	t := time.NewTicker(p.cfg.RefreshInterval)
	defer t.Stop()
	for {
		p.refresh(ctx, &wg)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// refresh starts a worker for every push party without one and stops
// workers of parties no longer pushed to.
func (p *Pusher) refresh(ctx context.Context, wg *sync.WaitGroup) {
	want := map[string]bool{}
	for _, e := range p.cfg.Endpoints() {
		want[e.Party] = true
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for party, w := range p.workers {
		if !want[party] {
			w.cancel()
			delete(p.workers, party)
		}
	}
	for party := range want {
		if _, ok := p.workers[party]; ok {
			continue
		}
		wctx, cancel := context.WithCancel(ctx)
		w := &worker{p: p, party: party, cancel: cancel, wake: make(chan struct{}, 1), attempts: map[store.ID]int{}}
		p.workers[party] = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.run(wctx)
		}()
	}
}

// follow wakes the worker of a mailbox whenever the feed shows a message
// filed there (stored, or released from quarantine), from the feed's head
// at start until ctx ends. A failure to follow is logged and followed
// again after a poll interval; the workers poll meanwhile.
func (p *Pusher) follow(ctx context.Context) {
	for ctx.Err() == nil {
		head, err := p.cfg.Feed.Head(ctx)
		if err == nil {
			err = p.cfg.Feed.Follow(ctx, head, func(c store.Change) error {
				if c.Op == store.OpPut || c.Op == store.OpRelease {
					p.Notify(c.Recipient)
				}
				return nil
			})
		}
		if ctx.Err() != nil || errors.Is(err, store.ErrClosed) {
			return
		}
		p.cfg.Logger.Warn().Err(err).Msg("following the store's feed for push delivery; workers poll meanwhile")
		t := time.NewTimer(p.cfg.PollInterval)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
}

// Notify wakes the worker of party at once, e.g. after a message for it
// was stored. Unknown parties are ignored.
func (p *Pusher) Notify(party string) {
	p.mu.Lock()
	w := p.workers[party]
	p.mu.Unlock()
	if w != nil {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

// endpoint looks up party's endpoint in the registry in force.
func (p *Pusher) endpoint(party string) (Endpoint, bool) {
	for _, e := range p.cfg.Endpoints() {
		if e.Party == party {
			return e, true
		}
	}
	return Endpoint{}, false
}

// EndpointHealth is how one push endpoint fares, for operators.
type EndpointHealth struct {
	Party        string    // the party pushed to
	URL          string    // its endpoint
	Failures     int       // consecutive failed attempts (0 after a delivery)
	BreakerOpen  bool      // the breaker is open: no attempts until OpenUntil
	OpenUntil    time.Time // when the breaker closes again; zero when closed
	LastDelivery time.Time // last successful delivery since start; zero when none
	LastFailure  time.Time // last failed or refused attempt since start; zero when none
}

// Health returns every push endpoint's health, ordered by party. It lists
// the endpoints of the registry in force, so one whose worker has not run
// yet appears with a zero state. A delivery counts when the endpoint
// accepts the message, whether or not it could be confirmed in the
// mailbox afterwards. Safe to call while the workers run.
func (p *Pusher) Health() []EndpointHealth {
	var out []EndpointHealth
	seen := map[string]bool{}
	for _, e := range p.cfg.Endpoints() {
		if seen[e.Party] {
			continue // the first one counts, as in endpoint
		}
		seen[e.Party] = true
		out = append(out, EndpointHealth{Party: e.Party, URL: e.URL})
	}
	slices.SortFunc(out, func(a, b EndpointHealth) int { return strings.Compare(a.Party, b.Party) })
	p.mu.Lock()
	workers := make([]*worker, len(out))
	for i := range out {
		workers[i] = p.workers[out[i].Party]
	}
	p.mu.Unlock()
	now := p.cfg.Now()
	for i, w := range workers {
		if w == nil {
			continue
		}
		h := &out[i]
		w.hmu.Lock()
		h.Failures, h.LastDelivery, h.LastFailure = w.failures, w.lastDelivery, w.lastFailure
		if w.openUntil.After(now) {
			h.BreakerOpen, h.OpenUntil = true, w.openUntil
		}
		w.hmu.Unlock()
	}
	return out
}

// worker delivers one party's mailbox, one message at a time in order.
type worker struct {
	p        *Pusher
	party    string
	cancel   context.CancelFunc
	wake     chan struct{}
	attempts map[store.ID]int

	// hmu guards the fields below against Health. Only the worker's own
	// goroutine writes them, under hmu, so it reads them without.
	hmu          sync.Mutex
	failures     int       // consecutive failures (circuit breaker)
	openUntil    time.Time // breaker open until then; kept after, until a delivery
	lastDelivery time.Time // last attempt the endpoint accepted
	lastFailure  time.Time // last attempt that failed or was refused
}

func (w *worker) run(ctx context.Context) {
	log := w.p.cfg.Logger.With().Str("party", w.party).Logger()
	for ctx.Err() == nil {
		entries, err := w.p.cfg.Mailbox.List(ctx, w.party, w.p.cfg.Batch)
		if err != nil {
			if ctx.Err() == nil {
				log.Error().Err(err).Msg("listing mailbox for push delivery")
			}
			w.sleep(ctx, w.p.cfg.PollInterval)
			continue
		}
		delivered := 0
		for _, e := range entries {
			if ctx.Err() != nil {
				return
			}
			if w.p.isParked(e.ID) {
				continue // waits for the store's own quarantine
			}
			if w.deliver(ctx, log, e) {
				delivered++
			}
		}
		if len(entries) == 0 || delivered == 0 {
			w.sleep(ctx, w.p.cfg.PollInterval)
		}
	}
}

// deliver tries e until it is confirmed, refused for good or out of
// attempts. It reports whether the message left the mailbox.
func (w *worker) deliver(ctx context.Context, log zerolog.Logger, e store.Entry) bool {
	body, err := w.p.cfg.Mailbox.Get(ctx, w.party, e.ID)
	if err != nil {
		if ctx.Err() == nil {
			log.Error().Err(err).Str("message_id", e.ID.String()).Msg("reading message for push delivery")
		}
		return false
	}
	for ctx.Err() == nil {
		if wait := w.openUntil.Sub(w.p.cfg.Now()); wait > 0 {
			if !w.sleep(ctx, wait) {
				return false
			}
		}
		ep, ok := w.p.endpoint(w.party)
		if !ok {
			return false // no longer pushed to; the lease lapses, the party polls
		}
		w.attempts[e.ID]++
		n := w.attempts[e.ID]
		err := w.p.send(ctx, ep, e, body)
		if err == nil {
			w.p.metrics.attempts.WithLabelValues(string(ep.Kind), "delivered").Inc()
			w.succeeded()
			if err := w.p.record(ctx, w.party, e.ID); err != nil {
				// Delivered but unrecorded: left unconfirmed, pushed again
				// after its lease, recorded then.
				log.Error().Err(err).Str("message_id", e.ID.String()).Msg("recording pushed message in the audit trail")
				return false
			}
			if err := w.p.cfg.Mailbox.Ack(context.WithoutCancel(ctx), w.party, e.ID); err != nil {
				// Delivered but not confirmed: it is pushed again after its
				// lease (at-least-once); the receiver recognises the resend.
				log.Error().Err(err).Str("message_id", e.ID.String()).Msg("confirming pushed message")
				return false
			}
			delete(w.attempts, e.ID)
			log.Info().Str("message_id", e.ID.String()).Int("attempt", n).Msg("pushed")
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		var refused *refusedError
		permanent := errors.As(err, &refused)
		outcome := "failed"
		if permanent {
			outcome = "refused"
		}
		w.p.metrics.attempts.WithLabelValues(string(ep.Kind), outcome).Inc()
		w.failed()
		log.Warn().Str("message_id", e.ID.String()).Int("attempt", n).Str("error", err.Error()).Msg("push failed")
		if permanent || n >= w.p.cfg.MaxAttempts {
			w.p.quarantine(ctx, log, w.party, e.ID, n, permanent)
			delete(w.attempts, e.ID)
			return true
		}
		if !w.sleep(ctx, w.p.backoff(n)) {
			return false
		}
	}
	return false
}

// record writes the audit entry of a pushed message: the recipient party
// received its body, as on a mailbox fetch.
func (p *Pusher) record(ctx context.Context, party string, id store.ID) error {
	if p.cfg.Audit == nil {
		return nil
	}
	_, err := p.cfg.Audit.Append(context.WithoutCancel(ctx), audit.Entry{
		Principal: party, Action: audit.Fetched, MessageID: id.String(), Detail: "push",
	})
	if err != nil {
		return fmt.Errorf("recording push of %s to %s: %w", id, party, err)
	}
	return nil
}

func (w *worker) succeeded() {
	if !w.openUntil.IsZero() {
		w.p.metrics.breakers.Dec()
	}
	now := w.p.cfg.Now()
	w.hmu.Lock()
	w.failures, w.openUntil, w.lastDelivery = 0, time.Time{}, now
	w.hmu.Unlock()
}

func (w *worker) failed() {
	now := w.p.cfg.Now()
	failures, opened := w.failures+1, w.openUntil
	if failures >= w.p.cfg.BreakerThreshold {
		if opened.IsZero() {
			w.p.metrics.breakers.Inc()
			w.p.cfg.Logger.Warn().Str("party", w.party).Int("failures", failures).Msg("push endpoint circuit breaker open")
		}
		opened = now.Add(w.p.cfg.BreakerCooldown)
	}
	w.hmu.Lock()
	w.failures, w.openUntil, w.lastFailure = failures, opened, now
	w.hmu.Unlock()
}

// sleep waits d, or less when woken or cancelled; false when cancelled.
func (w *worker) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-w.wake:
		return true
	case <-t.C:
		return true
	}
}

// backoff is the wait after the n-th failed attempt: exponential with
// equal jitter.
func (p *Pusher) backoff(n int) time.Duration {
	d := p.cfg.BaseBackoff << min(n-1, 30)
	if d <= 0 || d > p.cfg.MaxBackoff {
		d = p.cfg.MaxBackoff
	}
	half := d / 2
	return half + rand.N(half+1)
}

func (p *Pusher) isParked(id store.ID) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.parked[id]
}

// quarantine moves a message that cannot be delivered out of the way and
// raises the operator alert.
func (p *Pusher) quarantine(ctx context.Context, log zerolog.Logger, party string, id store.ID, attempts int, refused bool) {
	p.metrics.quarantined.Inc()
	ev := log.Error().Bool("alert", true).Str("message_id", id.String()).Int("attempts", attempts).Bool("refused", refused)
	reason := ReasonAttempts
	if refused {
		reason = ReasonRefused
	}
	if err := p.cfg.Mailbox.Quarantine(context.WithoutCancel(ctx), party, id, reason); err != nil {
		ev.AnErr("quarantine_error", err).Msg("push delivery gave up; quarantining failed, message parked")
	} else {
		ev.Msg("push delivery gave up; message quarantined")
		return
	}
	p.mu.Lock()
	p.parked[id] = true
	p.mu.Unlock()
}

// refusedError is an answer that says: do not send this again.
type refusedError struct{ msg string }

func (e *refusedError) Error() string { return e.msg }

// send makes one attempt.
func (p *Pusher) send(ctx context.Context, ep Endpoint, e store.Entry, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.AttemptTimeout)
	defer cancel()
	var req *http.Request
	var err error
	switch ep.Kind {
	case KindStUF:
		req, err = p.stufRequest(ctx, ep, e, body)
	default:
		req, err = p.restRequest(ctx, ep, e, body)
	}
	if err != nil {
		return err
	}
	resp, err := p.cfg.Client.Do(req)
	if err != nil {
		return fmt.Errorf("posting to %s endpoint: %w", ep.Kind, err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("reading the answer: %w", err)
	}
	if ep.Kind == KindStUF && !ep.AnyStatus {
		if err := stuf.VerifyParty(stuf.Verifier{Now: p.cfg.Now}, p.cfg.Trust, ep.Party, answer); err != nil {
			return fmt.Errorf("answer with status %d: %w", resp.StatusCode, err)
		}
		fault, err := stuf.ReadAnswer(answer)
		switch {
		case err != nil:
			return fmt.Errorf("answer with status %d: %w", resp.StatusCode, err)
		case fault != nil:
			return fmt.Errorf("answer with status %d: fault %s", resp.StatusCode, fault.Code)
		case resp.StatusCode != http.StatusOK:
			return fmt.Errorf("Bv03 with status %d", resp.StatusCode)
		}
		return nil
	}
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusUnprocessableEntity:
		return &refusedError{msg: fmt.Sprintf("refused with status %d", resp.StatusCode)}
	}
	return fmt.Errorf("status %d", resp.StatusCode)
}

// stufRequest wraps the message in a Di01 (heenbericht) or Du01 (retour or
// 325) from its sender to the gemeente. An answer the switch made itself
// names the switch as zender, as the chain names itself in the messages it
// makes (StUF-GGk 2.1, sections 2.5 and 3.3). functieVersie and
// functieSubversie follow the payload's release; an XML payload has no
// bestandsnaam (stuf.Envelope.Marshal).
func (p *Pusher) stufRequest(ctx context.Context, ep Endpoint, e store.Entry, body []byte) (*http.Request, error) {
	soort, _ := bericht.Lookup(e.Soort)
	env := &stuf.Envelope{
		Berichtcode:      "Di01",
		Zender:           stuf.Party{Organisatie: e.Sender, Applicatie: p.cfg.Applicatie},
		Ontvanger:        stuf.Party{Organisatie: e.Recipient, Applicatie: stuf.ApplicatieGGk},
		Referentienummer: stuf.RefFor(e.ID.String()),
		TijdstipBericht:  stuf.Tijdstip(p.cfg.Now()),
		Functie:          e.Soort,
		Payload:          body,
	}
	action := stuf.ActionDi01
	if soort.Answers() {
		env.Berichtcode, action = "Du01", stuf.ActionDu01
		crossRef, own, err := p.answerOf(ctx, e.ID)
		if err != nil {
			return nil, err
		}
		env.CrossRefnummer = crossRef
		if own {
			env.Zender.Organisatie = p.cfg.Organisatie
		}
	}
	el, err := env.Marshal()
	if err != nil {
		return nil, err
	}
	msg, err := stuf.Build(stuf.Addressing{Action: action, MessageID: "urn:uuid:" + env.Referentienummer, To: ep.URL}, el, p.cfg.Signer, p.cfg.Now())
	if err != nil {
		return nil, err
	}
	if env.Berichtcode == "Di01" && p.cfg.Refs != nil {
		if err := p.cfg.Refs.AddDi01(ctx, env.Referentienummer, e.Recipient); err != nil {
			return nil, fmt.Errorf("recording Di01 referentienummer: %w", err)
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(msg))
	if err != nil {
		return nil, fmt.Errorf("building request: %w", err)
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("SOAPAction", `"`+action+`"`)
	return req, nil
}

// answerOf looks up the heenbericht the answer id answers. crossRef is the
// referentienummer of the Di01 that carried it: the gemeente's own when it
// sent the heenbericht in a Di01 (Refs), else the one derived from the
// heenbericht's id. When the store does not know, it is derived from the
// answer's own id. own reports that the switch
// made the answer: its heenbericht was filed in the switch's own mailbox.
// A failure to read the heenbericht (other than its having expired) fails
// the attempt, so the answer is not sent under the wrong zender.
func (p *Pusher) answerOf(ctx context.Context, id store.ID) (crossRef string, own bool, err error) {
	m, err := p.cfg.Mailbox.Meta(ctx, id)
	if err != nil || m.Conversation.IsZero() {
		return stuf.RefFor(id.String()), false, nil
	}
	heen := m.Conversation.String()
	crossRef = stuf.RefFor(heen)
	if p.cfg.Refs != nil {
		if ref, ok, err := p.cfg.Refs.MessageRef(ctx, heen); err == nil && ok {
			crossRef = ref
		}
	}
	hm, err := p.cfg.Mailbox.Meta(ctx, m.Conversation)
	switch {
	case errors.Is(err, store.ErrNotFound): // expired: whose answer it was is no longer known
		return crossRef, false, nil
	case err != nil:
		return "", false, fmt.Errorf("reading the heenbericht of answer %s: %w", id, err)
	}
	return crossRef, hm.Recipient == gateway.SwitchMailbox, nil
}

// restMetadata is VSP's berichtMetadata.
type restMetadata struct {
	Routeringgegevens struct {
		Afzender       relatie   `json:"afzender"`
		Geadresseerden []relatie `json:"geadresseerden"`
		Berichtstroom  struct {
			Berichttype      string `json:"berichttype"`
			Berichtversie    int    `json:"berichtversie"`
			Berichtsubversie int    `json:"berichtsubversie"`
			Actie            string `json:"actie"`
		} `json:"berichtstroom"`
	} `json:"routeringgegevens"`
	Referentiegegevens struct {
		ConversatieID string `json:"conversatieId"`
		TraceerID     string `json:"traceerId"`
	} `json:"referentiegegevens"`
}

type relatie struct {
	Rol  string `json:"rol"`
	Code string `json:"code,omitempty"`
}

// restRequest is VSP REST push: multipart with berichtMetadata (JSON) and
// payload (the message bytes).
func (p *Pusher) restRequest(ctx context.Context, ep Endpoint, e store.Entry, body []byte) (*http.Request, error) {
	var md restMetadata
	md.Routeringgegevens.Afzender = relatie{Rol: "Gemeente", Code: e.Sender}
	md.Routeringgegevens.Geadresseerden = []relatie{{Rol: "Zorgaanbieder", Code: e.Recipient}}
	md.Routeringgegevens.Berichtstroom.Berichttype = e.Soort
	md.Routeringgegevens.Berichtstroom.Berichtversie = 3
	md.Routeringgegevens.Berichtstroom.Berichtsubversie = 2
	md.Routeringgegevens.Berichtstroom.Actie = "Indienen"
	md.Referentiegegevens.TraceerID = stuf.RefFor(e.ID.String())
	md.Referentiegegevens.ConversatieID = md.Referentiegegevens.TraceerID
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="berichtMetadata"`)
	h.Set("Content-Type", "application/json")
	part, err := mw.CreatePart(h)
	if err != nil {
		return nil, fmt.Errorf("building multipart: %w", err)
	}
	if err := json.NewEncoder(part).Encode(md); err != nil {
		return nil, fmt.Errorf("encoding berichtMetadata: %w", err)
	}
	h = textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="payload"; filename="`+e.Soort+`.xml"`)
	h.Set("Content-Type", "application/octet-stream")
	if part, err = mw.CreatePart(h); err != nil {
		return nil, fmt.Errorf("building multipart: %w", err)
	}
	part.Write(body)
	if err := mw.Close(); err != nil {
		return nil, fmt.Errorf("building multipart: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, &buf)
	if err != nil {
		return nil, fmt.Errorf("building request: %w", err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return req, nil
}
