package gateway

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
)

// Endpoint is an endpoint of another package (stuurinformatie, the
// dashboard, samenloop) served on the API's listener. Its handler runs
// behind everything a built-in endpoint passes: authentication, the
// endpoint × role table (a Permissions row for Method and Pattern, without
// which everyone is refused), the per-principal limits, the audit record
// of the row, the body limit, the request log line and the metrics. It
// reads the caller with PrincipalFrom.
type Endpoint struct {
	// Method and Pattern name the endpoint as in Permissions; Pattern is a
	// net/http ServeMux pattern without method or host.
	Method, Pattern string
	// Handler writes the answer, errors included (JSON {code, message} is
	// the API's convention).
	Handler http.Handler
	// MaxBodyBytes bounds the request body (a register copy may be far
	// larger than a message). Default Config.MaxBodyBytes.
	MaxBodyBytes int64
}

// principalKey is the context key of the authenticated caller.
type principalKey struct{}

// PrincipalFrom returns the authenticated caller of a request served
// through an Endpoint, and false outside one.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// productRoutes are the endpoints the node serves itself: the information
// products' (stuurinfo, the NZa export, the dashboard, samenloop), the
// backup and the operations page. The gateway lists them in its routing table, its role table and
// openapi.yaml, and the node mounts their handlers as Endpoints. Unmounted
// (products off, no backup directory) they answer 404.
var productRoutes = []route{
	{"/v1/stuurinfo", http.MethodGet, (*Server).serveMounted},
	{"/v1/stuurinfo/nza", http.MethodGet, (*Server).serveMounted},
	{"/dashboard", http.MethodGet, (*Server).serveMounted},
	{"/v1/samenloop/wlz-register", http.MethodPost, (*Server).serveMounted},
	{"/v1/samenloop/run", http.MethodPost, (*Server).serveMounted},
	{"/v1/backup", http.MethodPost, (*Server).serveMounted},
	{"/operations", http.MethodGet, (*Server).serveMounted},
}

// serveMounted runs the Endpoint mounted on a product route.
func (s *Server) serveMounted(w http.ResponseWriter, r *http.Request, rq *request) error {
	h, ok := s.mounted[r.Method+" "+r.Pattern]
	if !ok {
		return errorf(KindNotFound, CodeNotFound, "%s is not enabled on this switch", r.URL.Path)
	}
	return h(s, w, r, rq)
}

// extraRoutes checks endpoints and sorts them: those on a product route
// are mounted there, the others become routes of their own. A pattern of
// another built-in endpoint or the same method and pattern twice would
// make the ServeMux panic, so both are refused here.
func extraRoutes(endpoints []Endpoint) ([]route, map[string]func(*Server, http.ResponseWriter, *http.Request, *request) error, error) {
	builtin := map[string]bool{}
	for _, rs := range [][]route{apiRoutes, securityRoutes, operationalRoutes} {
		for _, rt := range rs {
			builtin[rt.pattern] = true
		}
	}
	slots := map[string]bool{}
	for _, rt := range productRoutes {
		slots[rt.method+" "+rt.pattern] = true
	}
	seen := map[string]bool{}
	var out []route
	mounted := map[string]func(*Server, http.ResponseWriter, *http.Request, *request) error{}
	for _, rt := range endpoints {
		key := rt.Method + " " + rt.Pattern
		switch {
		case rt.Method == "" || rt.Pattern == "" || rt.Pattern[0] != '/':
			return nil, nil, fmt.Errorf("endpoint %q: a method and a pattern starting with / are required", key)
		case rt.Handler == nil:
			return nil, nil, fmt.Errorf("endpoint %s: no handler", key)
		case !slots[key] && (builtin[rt.Pattern] || rt.Pattern == "/"):
			return nil, nil, fmt.Errorf("endpoint %s: the pattern is the gateway's own", key)
		case seen[key]:
			return nil, nil, fmt.Errorf("endpoint %s: given twice", key)
		}
		seen[key] = true
		h, limit := rt.Handler, rt.MaxBodyBytes
		handle := func(s *Server, w http.ResponseWriter, r *http.Request, rq *request) error {
			r = r.WithContext(context.WithValue(r.Context(), principalKey{}, rq.principal))
			max := limit
			if max <= 0 {
				max = s.cfg.MaxBodyBytes
			}
			r.Body = http.MaxBytesReader(w, r.Body, max)
			sw := &statusWriter{ResponseWriter: w}
			h.ServeHTTP(sw, r)
			rq.status = sw.status
			if rq.status == 0 {
				rq.status = http.StatusOK
			}
			// The handler wrote its own answer; its code is not known
			// here, so the log line and metrics carry the status.
			rq.code = "ok"
			if rq.status >= 400 {
				rq.code = "status-" + strconv.Itoa(rq.status)
			}
			return nil
		}
		if slots[key] {
			mounted[key] = handle
			continue
		}
		out = append(out, route{pattern: rt.Pattern, method: rt.Method, handle: handle})
	}
	return out, mounted, nil
}

// statusWriter remembers the status an Endpoint's handler answered with.
type statusWriter struct {
	http.ResponseWriter
	status int
}

// WriteHeader notes the first status before passing it on.
func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

// Write notes an implicit 200.
func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
