package gateway

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/knooppunt/knooppunt/audit"
)

// handlerFunc is an endpoint: it writes a success response itself and
// returns any refusal as an error for the adapter to answer.
type handlerFunc func(w http.ResponseWriter, r *http.Request, rq *request) error

// request carries what the adapter logs and counts about one request;
// handlers fill in what they learn.
type request struct {
	id        string
	start     time.Time
	principal Principal
	status    int    // status written
	code      string // outcome: "ok", a success status word, or the error code

	// Set by handlers, for the log line only.
	messageID    string
	berichtsoort string
	afzender     string
	ontvanger    string
	count        int // messages in a batch or listing

	// received is the audit record of a message received, set by guard
	// for the ingest path to hand to the store (Message.Record);
	// recorded says the store kept it, so guard appends nothing.
	received *audit.Entry
	recorded bool
	// correlation is the VSP face's ids of the message being posted, for
	// the ingest path to store with it (Message.Correlation).
	correlation *Correlation

	// problem answers refusals as RFC 7807 problem details (the VSP face)
	// instead of the /v1 error body.
	problem bool
}

// endpoint is the single adapter every route goes through: request id,
// authentication, method dispatch, error mapping, one log line, metrics.
func (s *Server) endpoint(route string, authenticate bool, methods map[string]handlerFunc) http.Handler {
	allow := make([]string, 0, len(methods))
	for m := range methods {
		allow = append(allow, m)
	}
	sort.Strings(allow)
	allowed := strings.Join(allow, ", ")
	duration := s.metrics.duration.WithLabelValues(route)
	problem := strings.HasPrefix(route, vspBase)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.metrics.inFlight.Inc()
		defer s.metrics.inFlight.Dec()
		rq := &request{id: requestID(r), start: s.cfg.Now(), problem: problem}
		w.Header().Set("X-Request-Id", rq.id)
		err := s.serveRecovered(w, r, rq, authenticate, methods, allowed)
		if err != nil && rq.status == 0 {
			s.writeError(w, rq, err)
		}
		elapsed := s.cfg.Now().Sub(rq.start)
		duration.Observe(elapsed.Seconds())
		s.metrics.requests.WithLabelValues(route, rq.code).Inc()
		s.logRequest(r, route, rq, elapsed, err)
	})
}

// serveRecovered runs the handler and turns a panic — a defect, never
// input, which is refused with an error — into an internal error, so one
// bad request cannot take the process down or go unlogged.
func (s *Server) serveRecovered(w http.ResponseWriter, r *http.Request, rq *request, authenticate bool, methods map[string]handlerFunc, allowed string) (err error) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			err = &Error{Kind: KindInternal, Code: CodeInternal, Message: "internal error; the request was not completed",
				Err: fmt.Errorf("panic: %v\n%s", v, debug.Stack())}
		}
	}()
	return s.serve(w, r, rq, authenticate, methods, allowed)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, rq *request, authenticate bool, methods map[string]handlerFunc, allowed string) error {
	h, ok := methods[r.Method]
	if !ok {
		if len(methods) == 0 {
			return errorf(KindNotFound, CodeNotFound, "no such endpoint: %s", r.URL.Path)
		}
		w.Header().Set("Allow", allowed)
		return errorf(KindMethodNotAllowed, CodeMethodNotAllowed, "method %s not allowed here; allowed: %s", r.Method, allowed)
	}
	if authenticate {
		p, err := s.authenticate(r)
		if err != nil {
			return err
		}
		rq.principal = p
	}
	return h(w, r, rq)
}

// writeError answers err as JSON with its status and stable code.
func (s *Server) writeError(w http.ResponseWriter, rq *request, err error) {
	e := asError(err)
	status := e.Kind.Status()
	if e.Kind == KindUnauthenticated {
		w.Header().Set("WWW-Authenticate", `Bearer realm="knooppunt"`)
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", retryAfterHeader(e.RetryAfter))
	} else if status == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", "1") // every "not now" says when to come back
	}
	rq.code = e.Code
	if rq.problem {
		s.writeJSON(w, rq, status, newProblem(e, status, rq.id))
		return
	}
	s.writeJSON(w, rq, status, e)
}

// problem is an RFC 7807 problem details body, in the shape of VECOZO's
// ValidationProblemDetails, with the stable code of /v1's error body.
type problem struct {
	Type     string              `json:"type"`
	Title    string              `json:"title"`
	Status   int                 `json:"status"`
	Detail   string              `json:"detail"`
	Instance string              `json:"instance"`
	Errors   map[string][]string `json:"errors,omitempty"`
	Code     string              `json:"code"`
	// ID is the original message of a conflicting resend.
	ID string `json:"id,omitempty"`
}

// newProblem renders e; violations of the message appear under "payload".
func newProblem(e *Error, status int, requestID string) problem {
	p := problem{Type: "urn:knooppunt:problem:" + e.Code, Title: http.StatusText(status), Status: status,
		Detail: e.Message, Instance: "urn:knooppunt:request:" + requestID, Errors: e.Fields, Code: e.Code, ID: e.ID}
	if p.Errors == nil && len(e.Violations) > 0 {
		p.Errors = map[string][]string{}
		for _, v := range e.Violations {
			p.Errors["payload"] = append(p.Errors["payload"], fmt.Sprintf("line %d, column %d: %s", v.Line, v.Column, v.Message))
		}
	}
	return p
}

// writeJSON writes v as the response body with status.
func (s *Server) writeJSON(w http.ResponseWriter, rq *request, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil { // only for types of our own that cannot fail to marshal
		s.log.Error().Err(err).Str("request_id", rq.id).Msg("encoding response")
		status, body = http.StatusInternalServerError, []byte(`{"code":"internal","message":"internal error"}`)
		rq.code = CodeInternal
	}
	body = append(body, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	rq.status = status
	if rq.code == "" {
		rq.code = "ok"
	}
	w.Write(body) // a failed write means the client went away; nothing to do
}

// logRequest writes the request's one log line. It holds codes, ids,
// berichtsoort and party codes, never payload or violation texts.
func (s *Server) logRequest(r *http.Request, route string, rq *request, elapsed time.Duration, err error) {
	level := zerolog.InfoLevel
	var cause error
	if err != nil {
		e := asError(err)
		switch {
		case e.Kind == KindInternal:
			level, cause = zerolog.ErrorLevel, e.Err
		case e.Kind == KindUnavailable && e.Err != nil:
			level, cause = zerolog.WarnLevel, e.Err
		}
	}
	ev := s.log.WithLevel(level)
	if ev == nil {
		return
	}
	ev = ev.Str("request_id", rq.id).Str("method", r.Method).Str("route", route).
		Int("status", rq.status).Str("code", rq.code).Float64("duration_ms", float64(elapsed.Microseconds())/1000)
	if rq.principal.ID != "" {
		ev = ev.Str("principal", rq.principal.ID)
	}
	if rq.messageID != "" {
		ev = ev.Str("message_id", rq.messageID)
	}
	if rq.berichtsoort != "" {
		ev = ev.Str("berichtsoort", rq.berichtsoort)
	}
	if rq.afzender != "" {
		ev = ev.Str("afzender", rq.afzender)
	}
	if rq.ontvanger != "" {
		ev = ev.Str("ontvanger", rq.ontvanger)
	}
	if rq.count > 0 {
		ev = ev.Int("count", rq.count)
	}
	if cause != nil {
		ev = ev.AnErr("cause", cause)
	}
	ev.Msg("request")
}

// requestID returns the caller's X-Request-Id when it is a short token of
// safe characters (so it can be correlated end to end), else a new one.
func requestID(r *http.Request) string {
	if id := r.Header.Get("X-Request-Id"); id != "" && len(id) <= 64 && safeToken(id) {
		return id
	}
	const hex = "0123456789abcdef"
	var b [16]byte
	n := rand.Uint64()
	for i := range b {
		b[i] = hex[n&0xf]
		n >>= 4
	}
	return string(b[:])
}

// safeToken reports whether s holds only letters, digits, '-', '_' and '.'.
func safeToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}
