package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/store"
)

// Accepted is the answer to a stored (202) or resent (200) message.
type Accepted struct {
	ID           string `json:"id"`
	Berichtsoort string `json:"berichtsoort"`
	// Ontvanger is the party the message is for (for a retourbericht: the
	// sender of its heenbericht).
	Ontvanger string `json:"ontvanger"`
	// Status is "stored" for a new message, "duplicate" for an identical
	// resend, which was not delivered a second time, and "retour" for a
	// heenbericht that breaks a level-2 rule, or TR063 or TR074 where its
	// gemeente has them checked: the switch answered it and did not
	// deliver it.
	Status string `json:"status"`
	// With status "retour" (and a duplicate of such a message): the id of
	// the answer in the sender's mailbox, its berichtsoort, its
	// RetourCodes and the codes of the rules broken; with status "retour"
	// also each finding: where, and what is wrong (never a value).
	Retour             string    `json:"retour,omitempty"`
	RetourBerichtsoort string    `json:"retourBerichtsoort,omitempty"`
	RetourCodes        []string  `json:"retourCodes,omitempty"`
	Rules              []string  `json:"rules,omitempty"`
	Findings           []Finding `json:"findings,omitempty"`
}

// Validation is the answer of POST /v1/validate for a valid message.
type Validation struct {
	Valid         bool   `json:"valid"`
	Berichtsoort  string `json:"berichtsoort"`
	BerichtCode   string `json:"berichtcode"`
	Afzender      string `json:"afzender"`
	Ontvanger     string `json:"ontvanger"`
	Identificatie string `json:"identificatie"`
	Dagtekening   string `json:"dagtekening"`
}

// Success statuses of Accepted.
const (
	statusStored    = "stored"
	statusDuplicate = "duplicate"
)

// postBericht is POST /v1/berichten: validate, route, store, answer.
func (s *Server) postBericht(w http.ResponseWriter, r *http.Request, rq *request) error {
	if err := contentType(r, "application/xml", "text/xml"); err != nil {
		s.metrics.berichten.WithLabelValues(unknownSoort, err.Code).Inc()
		return err
	}
	body, err := s.readBody(w, r)
	if err != nil {
		s.metrics.berichten.WithLabelValues(unknownSoort, asError(err).Code).Inc()
		return err
	}
	a, err := s.ingest(r.Context(), rq.principal, body, rq.start, rq)
	if err != nil {
		return err
	}
	status := http.StatusAccepted
	rq.code = a.Status
	if a.Status == statusDuplicate {
		status = http.StatusOK
	}
	s.writeJSON(w, rq, status, a)
	return nil
}

// ingest takes one message through validation, routing and the store. rq,
// if not nil, learns the message's log fields.
func (s *Server) ingest(ctx context.Context, p Principal, body []byte, received time.Time, rq *request) (a Accepted, err error) {
	return s.ingestChecked(ctx, p, body, received, rq, nil)
}

// ingestChecked is ingest with check, if not nil, run on the validated
// header before routing: a front door's own refusal stores nothing.
func (s *Server) ingestChecked(ctx context.Context, p Principal, body []byte, received time.Time, rq *request, check func(bericht.Header) error) (a Accepted, err error) {
	soort := unknownSoort
	defer func() {
		outcome := a.Status
		if err != nil {
			outcome = asError(err).Code
		}
		s.metrics.berichten.WithLabelValues(soort, outcome).Inc()
	}()
	h, findings, tree, err := s.validateRules(ctx, p.ID, body)
	if err != nil {
		return a, err
	}
	validated := s.cfg.Now()
	soort = soortLabel(h.Soort.Name)
	if rq != nil {
		rq.berichtsoort, rq.afzender = h.Soort.Name, h.Sender()
	}
	if check != nil {
		if err := check(h); err != nil {
			return a, err
		}
	}
	route, err := s.cfg.Router.Route(ctx, p, h)
	if err != nil {
		return a, err
	}
	if rq != nil {
		rq.ontvanger = route.Recipient
	}
	if len(findings) > 0 && !h.Soort.Answers() {
		if a, answered, err := s.answerFindings(ctx, p, h, route, findings, body, tree, received, validated, rq); answered || err != nil {
			return a, err
		}
	}
	m := NewMessage(h, p.ID, route, body, tree, received, validated)
	if rq != nil {
		if m.Correlation, err = rq.correlation.stored(); err != nil {
			return a, err
		}
	}
	if rq != nil && rq.received != nil {
		m.Reception = &store.Reception{At: s.cfg.Now(), Principal: rq.received.Principal, Remote: rq.received.Remote}
	}
	// Level 3 where a gemeente asks for it, on a message that keeps the
	// level-2 rules: the aanleveringen against the store's ledger, and
	// again in the write itself, which a message stored meanwhile may
	// have made conflict.
	if len(findings) == 0 && s.cfg.Aanleveringen != nil && !h.Soort.Answers() {
		as, found, err := s.cfg.Aanleveringen.Check(ctx, m)
		if err != nil {
			return a, err
		}
		if len(found) > 0 {
			if a, answered, err := s.answerFindings(ctx, p, h, route, found, body, tree, received, validated, rq); answered || err != nil {
				return a, err
			}
		} else {
			for _, l := range as {
				m.Aanleveringen = append(m.Aanleveringen, store.Aanlevering{Key: l.Key, Status: l.Status})
				m.Refused = append(m.Refused, l.Refused)
			}
		}
	}
	rec, err := s.cfg.Store.Put(ctx, m)
	if refused, ok := errors.AsType[*AanleveringenRefused](err); ok && len(m.Aanleveringen) > 0 {
		found := make([]Finding, 0, len(refused.Lines))
		for _, l := range refused.Lines {
			if l >= 0 && l < len(m.Refused) {
				found = append(found, m.Refused[l])
			}
		}
		if len(found) == 0 {
			return a, fmt.Errorf("the store refused lines the message does not have: %w", err)
		}
		if a, answered, err := s.answerFindings(ctx, p, h, route, found, body, tree, received, validated, rq); answered || err != nil {
			return a, err
		}
		m.Aanleveringen, m.Refused = nil, nil // left to the recipient: delivered as any other
		rec, err = s.cfg.Store.Put(ctx, m)
	}
	if err != nil {
		return a, err
	}
	if rq != nil {
		rq.messageID, rq.recorded = rec.ID, rec.Recorded
	}
	a = Accepted{ID: rec.ID, Berichtsoort: h.Soort.Name, Ontvanger: route.Recipient, Status: statusStored}
	if rec.Duplicate {
		a.Status = statusDuplicate
	} else {
		s.metrics.bytes.WithLabelValues(soort).Add(float64(len(body)))
		s.metrics.ingest.WithLabelValues(soort).Observe(s.cfg.Now().Sub(received).Seconds())
	}
	return a, nil
}

// validate runs the validator for caller within the validation slots and
// deadline (bounded).
func (s *Server) validate(ctx context.Context, caller string, body []byte) (bericht.Header, error) {
	return s.bounded(ctx, caller, func(ctx context.Context) (bericht.Header, error) { return s.cfg.Validator.Validate(ctx, body) })
}

// bounded runs validate in one of caller's validation slots, within
// ValidationTimeout from now, waiting for the slot included. A validation
// past its deadline is abandoned (validate returns once the validator has
// stopped) and answered 503 validation-busy; a request whose client went
// away is not validated further.
func (s *Server) bounded(ctx context.Context, caller string, validate func(context.Context) (bericht.Header, error)) (bericht.Header, error) {
	vctx, cancel := context.WithTimeout(ctx, s.cfg.ValidationTimeout)
	defer cancel()
	if s.slots != nil {
		release, err := s.slots.acquire(vctx, caller, s.cfg.Now)
		if err != nil {
			return bericht.Header{}, s.abandoned(ctx, err, "waiting for a validation slot")
		}
		defer release()
	}
	h, err := validate(vctx)
	if err != nil && vctx.Err() != nil && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)) {
		return h, s.abandoned(ctx, err, "validating")
	}
	return h, err
}

// abandoned is the refusal of a validation given up while doing what:
// the client's request ended (ctx), or the validation's deadline passed.
func (s *Server) abandoned(ctx context.Context, err error, doing string) error {
	if ctx.Err() != nil {
		return &Error{Kind: KindUnavailable, Code: CodeCancelled, Message: "the request ended while " + doing, Err: err}
	}
	s.metrics.validationAbandoned.Inc()
	return &Error{Kind: KindUnavailable, Code: CodeValidationBusy, RetryAfter: 5, Err: err,
		Message: fmt.Sprintf("the message could not be validated within %s (%s); retry later", s.cfg.ValidationTimeout, doing)}
}

// postValidate is POST /v1/validate: the validator's verdict only; nothing
// is routed or stored.
func (s *Server) postValidate(w http.ResponseWriter, r *http.Request, rq *request) error {
	if err := contentType(r, "application/xml", "text/xml"); err != nil {
		return err
	}
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	h, err := s.validate(r.Context(), rq.principal.ID, body)
	if err != nil {
		return err
	}
	rq.berichtsoort = h.Soort.Name
	s.writeJSON(w, rq, http.StatusOK, Validation{
		Valid: true, Berichtsoort: h.Soort.Name, BerichtCode: h.BerichtCode,
		Afzender: h.Afzender, Ontvanger: h.Ontvanger,
		Identificatie: h.Identificatie, Dagtekening: h.Dagtekening,
	})
	return nil
}

// contentType checks the request's media type against the allowed ones
// (and, for XML, that a charset parameter if any says UTF-8).
func contentType(r *http.Request, allowed ...string) *Error {
	ct := r.Header.Get("Content-Type")
	for _, a := range allowed {
		if ct == a { // the common case, without parsing
			return nil
		}
	}
	if ct == "" {
		return errorf(KindUnsupportedMedia, CodeUnsupportedMedia, "Content-Type is missing; send %s", allowed[0])
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return errorf(KindUnsupportedMedia, CodeUnsupportedMedia, "Content-Type is not a media type; send %s", allowed[0])
	}
	for _, a := range allowed {
		if mt == a {
			if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
				return errorf(KindUnsupportedMedia, CodeUnsupportedMedia, "charset must be UTF-8")
			}
			return nil
		}
	}
	return errorf(KindUnsupportedMedia, CodeUnsupportedMedia, "Content-Type %s is not accepted here; send %s", mt, allowed[0])
}

// readBody reads the whole request body, refusing more than MaxBodyBytes
// before reading when the length is declared.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	limit := s.cfg.MaxBodyBytes
	if r.ContentLength > limit {
		return nil, errorf(KindTooLarge, CodeBodyTooLarge, "the body is %d bytes; the limit is %d", r.ContentLength, limit)
	}
	size := 32 << 10
	if r.ContentLength > 0 {
		size = int(r.ContentLength) + 1 // one more, so ReadAll sees EOF without growing
	}
	buf := make([]byte, 0, size)
	rd := http.MaxBytesReader(w, r.Body, limit)
	for {
		n, err := rd.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				return nil, errorf(KindTooLarge, CodeBodyTooLarge, "the body exceeds the limit of %d bytes", limit)
			}
			return nil, errorf(KindMalformed, CodeBodyUnreadable, "reading the body failed before its end")
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
	}
	if len(buf) == 0 {
		return nil, errorf(KindMalformed, CodeEmpty, "the body is empty")
	}
	return buf, nil
}
