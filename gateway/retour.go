package gateway

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/knooppunt/knooppunt/bericht"
)

// The switch answers a heenbericht that passes its XSD but breaks a rule of
// control level 2: it stores the heenbericht without delivering
// it, puts the answer (a retourbericht with 0001, or the 325 of a 323) in
// the sender's mailbox linked to it, and answers 202 with status "retour".
// Per recipient the registry may leave that to the recipient instead; then
// the message is delivered as any other. A 305 or 307 to a gemeente that
// asks for it is also checked against the aanleveringen delivered before
// (TR063, TR074: level 3, see Aanleveringen) and answered alike, with the
// retourcode on each offending line.

// Finding is one level-2 rule a message breaks. It carries codes and a
// place, never a value of the message, so it may be logged and counted.
type Finding struct {
	Rule       string `json:"rule"`       // the rule's code: CS002, TR018, …
	Retourcode string `json:"retourcode"` // the rule's retourcode: 0001 for level 2
	Path       string `json:"path"`       // the offending element, /Bericht/Client/Bsn
	Line       int    `json:"line"`
	// Text says what is wrong and where, with element names and lines,
	// never a value: "GewensteIngangsdatum (line 41) is not after the
	// Dagtekening (line 11)".
	Text string `json:"text"`
}

// Answerer builds the switch's answer to a heenbericht that breaks rules.
type Answerer interface {
	// Answer returns the answer to the heenbericht h, routed by route,
	// whose bytes are body, that breaks the rules of findings: level-2
	// rules, or the level-3 rules of Aanleveringen (TR063, TR074), which
	// are never mixed; nil when its recipient answers itself (registry
	// setting retour: recipient), and the message is delivered.
	Answer(ctx context.Context, h bericht.Header, route Route, body []byte, findings []Finding) (*Answer, error)
}

// Answer is the switch's answer to a heenbericht.
type Answer struct {
	// Header and Body are the answer: a retourbericht, or a 325.
	Header bericht.Header
	Body   []byte
	// Route sends it back: Recipient is the heenbericht's sender, Mailbox
	// the mailbox that receives for it. Heen is filled in by the gateway.
	Route Route
	// Codes are the RetourCodes on the answer's header.
	Codes []string
}

// SwitchMailbox is the mailbox of the switch itself: a heenbericht the
// switch answers is filed there, and confirmed at once, instead of in its
// recipient's mailbox. Party codes are digits or "swv-…", so no party
// has it.
const SwitchMailbox = "knooppunt"

// statusRetour is Accepted.Status of a heenbericht the switch answered.
const statusRetour = "retour"

// StatusRetour is Accepted.Status of a heenbericht the switch answered
// itself, for front doors that translate the outcome.
const StatusRetour = statusRetour

// retourMetrics count the switch's answers.
type retourMetrics struct {
	rules   *prometheus.CounterVec // rule
	answers *prometheus.CounterVec // berichtsoort of the answer
}

func newRetourMetrics(reg prometheus.Registerer) (*retourMetrics, error) {
	m := &retourMetrics{
		rules: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "knooppunt", Subsystem: "gateway", Name: "rule_findings_total",
			Help: "Rules broken by heenberichten the switch answered (level 2, and TR063 and TR074 where a gemeente has them checked), by rule code.",
		}, []string{"rule"}),
		answers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "knooppunt", Subsystem: "gateway", Name: "retouren_total",
			Help: "Answers the switch generated (retourberichten and 325s), by berichtsoort of the answer.",
		}, []string{"berichtsoort"}),
	}
	for _, c := range []prometheus.Collector{m.rules, m.answers} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("registering retour metrics: %w", err)
		}
	}
	return m, nil
}

// validateRules validates body and, when the switch answers level-2
// breaches, checks the rules in the same parse.
func (s *Server) validateRules(ctx context.Context, caller string, body []byte) (bericht.Header, []Finding, *bericht.Tree, error) {
	if s.cfg.Answerer == nil {
		h, err := s.validate(ctx, caller, body)
		return h, nil, nil, err
	}
	var (
		h        bericht.Header
		findings []Finding
		tree     *bericht.Tree
	)
	_, err := s.bounded(ctx, caller, func(ctx context.Context) (bericht.Header, error) {
		var err error
		h, findings, tree, err = s.cfg.Validator.ValidateRules(ctx, body)
		return h, err
	})
	return h, findings, tree, err
}

// answerFindings asks the Answerer for the switch's answer to heenbericht
// h, which breaks the rules of findings, and stores both (answer);
// answered is false when the Answerer leaves the answer to the recipient,
// and the message goes on to be delivered. rq, if not nil, learns the
// message's id and gives its correlation.
func (s *Server) answerFindings(ctx context.Context, p Principal, h bericht.Header, route Route, findings []Finding, body []byte, tree *bericht.Tree, received, validated time.Time, rq *request) (a Accepted, answered bool, err error) {
	ans, err := s.cfg.Answerer.Answer(ctx, h, route, body, findings)
	if err != nil || ans == nil {
		return a, err != nil, err
	}
	var corr *Correlation
	if rq != nil {
		corr = rq.correlation
	}
	a, err = s.answer(ctx, p, h, route, ans, findings, body, tree, received, validated, corr)
	if rq != nil && err == nil {
		rq.messageID = a.ID
	}
	return a, true, err
}

// answer stores heenbericht h, which breaks the rules of findings, and the
// switch's answer to it, in one write (Store.PutAnswered): the heenbericht
// is filed confirmed in the switch's own mailbox, so it is never
// delivered, and the answer in the sender's mailbox, linked to it. corr is
// the heenbericht's ids on the VSP face, if it came that way.
func (s *Server) answer(ctx context.Context, p Principal, h bericht.Header, route Route, ans *Answer, findings []Finding, body []byte, tree *bericht.Tree, received, validated time.Time, corr *Correlation) (Accepted, error) {
	heen := route
	heen.Mailbox = SwitchMailbox
	now := s.cfg.Now()
	hm := NewMessage(h, p.ID, heen, body, tree, received, validated)
	var err error
	if hm.Correlation, err = corr.stored(); err != nil {
		return Accepted{}, err
	}
	am := NewMessage(ans.Header, SwitchMailbox, ans.Route, ans.Body, nil, now, now)
	hr, rr, err := s.cfg.Store.PutAnswered(ctx, hm, am)
	if err != nil {
		return Accepted{}, err
	}
	a := Accepted{ID: hr.ID, Berichtsoort: h.Soort.Name, Ontvanger: route.Recipient, Status: statusRetour, Retour: rr.ID,
		RetourBerichtsoort: ans.Header.Soort.Name, RetourCodes: ans.Codes, Rules: ruleCodes(findings), Findings: findings}
	switch {
	case rr.ID == "": // delivered before, when its recipient answered itself
		return Accepted{ID: hr.ID, Berichtsoort: h.Soort.Name, Ontvanger: route.Recipient, Status: statusDuplicate}, nil
	case rr.Duplicate: // answered before: nothing changed
		a.Status = statusDuplicate
		return a, nil
	}
	for _, r := range a.Rules {
		s.retour.rules.WithLabelValues(r).Inc()
	}
	s.retour.answers.WithLabelValues(soortLabel(ans.Header.Soort.Name)).Inc()
	s.log.Info().Str("message_id", hr.ID).Str("retour_id", rr.ID).
		Str("berichtsoort", h.Soort.Name).Str("retour_berichtsoort", ans.Header.Soort.Name).
		Strs("rules", a.Rules).Strs("retourcodes", ans.Codes).Msg("answered by the switch")
	return a, nil
}

// ruleCodes are the distinct rule codes of findings, in order.
func ruleCodes(findings []Finding) []string {
	var codes []string
	seen := map[string]bool{}
	for _, f := range findings {
		if !seen[f.Rule] {
			seen[f.Rule] = true
			codes = append(codes, f.Rule)
		}
	}
	return codes
}

// retourAfter is the time in milliseconds from a heenbericht's received
// event to its retour-received event; nil without an answer.
func retourAfter(events []Event) *int64 {
	var received, answered time.Time
	for _, e := range events {
		switch {
		case e.State == "received" && received.IsZero():
			received = e.At
		case e.State == "retour-received" && answered.IsZero():
			answered = e.At
		}
	}
	if received.IsZero() || answered.IsZero() {
		return nil
	}
	ms := answered.Sub(received).Milliseconds()
	return &ms
}
