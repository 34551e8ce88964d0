package gateway

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/knooppunt/knooppunt/audit"
	"github.com/knooppunt/knooppunt/bericht"
)

// Auditor is the audit trail the gateway records accesses in and serves
// to auditors; *audit.Log implements it.
type Auditor interface {
	// Append records e and returns once it is durable.
	Append(ctx context.Context, e audit.Entry) (audit.Entry, error)
	// AppendAll records entries in one durable write.
	AppendAll(ctx context.Context, entries []audit.Entry) error
	// Query returns a page of entries and whether more follow.
	Query(ctx context.Context, f audit.Filter) ([]audit.Entry, bool, error)
}

// CodeAuditUnavailable: the access could not be recorded in the audit
// trail, so it was not granted (503; retry later).
const CodeAuditUnavailable = "audit-unavailable"

// guard wraps an authenticated endpoint with the checks every such call
// passes, in this order: the role table, the principal's limits, and —
// for endpoints that touch personal data — the audit record, written
// before the response leaves (no record, no access). The record of a
// message received goes with the message into the store's synced commit
// when the store can keep it (Message.Record); the trail's file receives
// it from there.
func (s *Server) guard(method, pattern string, h handlerFunc) handlerFunc {
	perm, known := permission(method, pattern)
	return func(w http.ResponseWriter, r *http.Request, rq *request) error {
		p := rq.principal
		if err := authorize(perm, known, p); err != nil {
			return err
		}
		if s.limits != nil {
			if retry, err := s.limits.acquire(p.ID, s.cfg.Now()); err != nil {
				w.Header().Set("Retry-After", retryAfterHeader(retry))
				return err
			}
			defer s.limits.release(p.ID)
		}
		if perm.Audit == "" || s.cfg.Audit == nil {
			return h(w, r, rq)
		}
		if perm.Audit == audit.Received {
			rq.received = &audit.Entry{Principal: p.ID, Action: perm.Audit, Remote: r.RemoteAddr}
		}
		aw := &auditWriter{ResponseWriter: w, record: func(status int) error {
			if rq.recorded {
				return nil // kept in the store's commit with the message
			}
			e := audit.Entry{Principal: p.ID, Action: perm.Audit, MessageID: rq.messageID, Remote: r.RemoteAddr}
			if rq.count > 0 {
				e.Detail = "count " + strconv.Itoa(rq.count)
			}
			// The access happened (a message is stored, a body is about
			// to leave): record it even if the client has gone.
			_, err := s.cfg.Audit.Append(context.WithoutCancel(r.Context()), e)
			return err
		}}
		err := h(aw, r, rq)
		if aw.failed != nil {
			rq.status, rq.code = 0, ""
			return auditUnavailable(aw.failed)
		}
		return err
	}
}

// auditUnavailable is the refusal of an access whose record failed.
func auditUnavailable(err error) *Error {
	return &Error{Kind: KindUnavailable, Code: CodeAuditUnavailable,
		Message: "the access could not be recorded in the audit trail and was not granted; retry later", Err: err}
}

// Audited wraps h, a handler served on a Door, with the audit record the
// endpoint × role table names for each request (Permission.Audit): a call
// that succeeds is recorded, under the caller Authenticate finds, before
// its answer leaves; if it cannot be, the caller gets 503
// audit-unavailable instead, as on the API (no record, no access). A
// request of no row that records something, or whose caller is not
// authenticated (h refuses it), passes unrecorded. Without an audit trail
// h is returned as it is.
func (s *Server) Audited(h http.Handler) http.Handler {
	if s.cfg.Audit == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		action := auditAction(r)
		if action == "" {
			h.ServeHTTP(w, r)
			return
		}
		aw := &auditWriter{ResponseWriter: w, record: func(int) error {
			p, err := s.authenticate(r)
			if err != nil {
				return nil // h refused it; nothing was accessed
			}
			_, err = s.cfg.Audit.Append(context.WithoutCancel(r.Context()), audit.Entry{Principal: p.ID, Action: action, Remote: r.RemoteAddr})
			return err
		}}
		h.ServeHTTP(aw, r)
		if aw.failed != nil {
			s.log.Error().Err(aw.failed).Str("action", string(action)).Msg("audit trail unavailable: access refused")
			s.writeError(w, &request{}, auditUnavailable(aw.failed))
		}
	})
}

// permissionMux matches a request to its row of Permissions: each row's
// method and pattern, as the ServeMux matches them.
var permissionMux = sync.OnceValue(func() *http.ServeMux {
	mux := http.NewServeMux()
	for _, p := range Permissions {
		mux.Handle(p.Method+" "+p.Pattern, http.NotFoundHandler())
	}
	return mux
})

// auditAction is the action the table records for a successful r, or ""
// when r matches no row (a GET row also matches HEAD, which is not
// recorded) or its row records nothing.
func auditAction(r *http.Request) audit.Action {
	_, pattern := permissionMux().Handler(r)
	method, path, ok := strings.Cut(pattern, " ")
	if !ok || method != r.Method {
		return ""
	}
	perm, _ := permission(method, path)
	return perm.Audit
}

// auditWriter records the access when a success status is about to be
// written, and swallows the response when that fails.
type auditWriter struct {
	http.ResponseWriter
	record  func(status int) error
	decided bool
	failed  error
}

func (a *auditWriter) decide(status int) {
	if a.decided {
		return
	}
	a.decided = true
	if status >= 200 && status < 300 {
		a.failed = a.record(status)
	}
}

// WriteHeader records a success before passing the status on.
func (a *auditWriter) WriteHeader(status int) {
	a.decide(status)
	if a.failed == nil {
		a.ResponseWriter.WriteHeader(status)
	}
}

// Write records an implicit 200 before the first byte leaves.
func (a *auditWriter) Write(p []byte) (int, error) {
	a.decide(http.StatusOK)
	if a.failed != nil {
		return 0, a.failed
	}
	return a.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection.
func (a *auditWriter) Unwrap() http.ResponseWriter { return a.ResponseWriter }

// AuditPage is the answer of GET /v1/audit.
type AuditPage struct {
	Entries []audit.Entry `json:"entries"`
	// Next is the cursor for the following page (?after=Next); empty on
	// the last page.
	Next string `json:"next,omitempty"`
}

// securityRoutes are authenticated endpoints of the security layer.
var securityRoutes = []route{
	{"/v1/audit", http.MethodGet, (*Server).getAudit},
}

// getAudit is GET /v1/audit?from=&to=&principal=&action=&message_id=&after=&limit=
// for auditors: a page of the audit trail, oldest first.
func (s *Server) getAudit(w http.ResponseWriter, r *http.Request, rq *request) error {
	if s.cfg.Audit == nil {
		return errorf(KindNotFound, CodeNotFound, "no audit trail is configured")
	}
	q := r.URL.Query()
	f := audit.Filter{Principal: q.Get("principal"), Action: audit.Action(q.Get("action")), MessageID: q.Get("message_id")}
	for _, tv := range []struct {
		name string
		into *time.Time
	}{{"from", &f.From}, {"to", &f.To}} {
		if v := q.Get(tv.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return errorf(KindMalformed, CodeBadRequest, "%s must be an RFC 3339 time", tv.name)
			}
			*tv.into = t
		}
	}
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return errorf(KindMalformed, CodeBadRequest, "after must be a sequence number")
		}
		f.After = n
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > audit.MaxQueryLimit {
			return errorf(KindMalformed, CodeBadRequest, "limit must be a number from 1 to %d", audit.MaxQueryLimit)
		}
		f.Limit = n
	}
	entries, more, err := s.cfg.Audit.Query(r.Context(), f)
	if err != nil {
		return err
	}
	page := AuditPage{Entries: entries}
	if page.Entries == nil {
		page.Entries = []audit.Entry{}
	}
	if more && len(entries) > 0 {
		page.Next = strconv.FormatUint(entries[len(entries)-1].Seq, 10)
	}
	rq.count = len(entries)
	s.writeJSON(w, rq, http.StatusOK, page)
	return nil
}

// Admit applies the principal's rate and concurrency limits of the API
// to a request of a front door beside it (the StUF-GGk SOAP endpoint),
// before the door reads or parses the request, so that a caller over its
// limits costs no parsing or signature check. A refusal is a 429 Error
// with the seconds after which a retry can succeed; otherwise release
// must be called when the request ends.
func (s *Server) Admit(p Principal) (release func(), retryAfter int, err error) {
	if s.limits == nil {
		return func() {}, 0, nil
	}
	if retry, err := s.limits.acquire(p.ID, s.cfg.Now()); err != nil {
		return nil, retry, err
	}
	return func() { s.limits.release(p.ID) }, 0, nil
}

// IngestGuarded is Ingest for front doors beside the API (the StUF-GGk
// SOAP endpoint) with the checks POST /v1/berichten passes in guard: the
// role table and the audit record of the message received (principal,
// message id and remote, which the front door passes as it has no request
// of the gateway's), kept in the store's commit as for a POST where the
// store can. The limits are the door's to apply, with Admit, before it
// reads the request. A message stored whose record cannot be written is
// refused 503 audit-unavailable; a resend is answered from the dedup index
// and recorded then.
func (s *Server) IngestGuarded(ctx context.Context, p Principal, remote string, body []byte, check func(bericht.Header) error) (Accepted, error) {
	perm, known := permission(http.MethodPost, "/v1/berichten")
	if err := authorize(perm, known, p); err != nil {
		return Accepted{}, err
	}
	if s.cfg.Audit == nil {
		return s.Ingest(ctx, p, body, check)
	}
	rq := &request{received: &audit.Entry{Principal: p.ID, Action: perm.Audit, Remote: remote}}
	a, err := s.ingestChecked(ctx, p, body, s.cfg.Now(), rq, check)
	if err != nil || rq.recorded {
		return a, err
	}
	if _, err := s.cfg.Audit.Append(context.WithoutCancel(ctx), audit.Entry{Principal: p.ID, Action: perm.Audit, MessageID: a.ID, Remote: remote}); err != nil {
		return Accepted{}, &Error{Kind: KindUnavailable, Code: CodeAuditUnavailable,
			Message: "the message could not be recorded in the audit trail; resend later (a resend is not delivered twice)", Err: err}
	}
	return a, nil
}
