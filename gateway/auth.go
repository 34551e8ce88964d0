package gateway

import (
	"net/http"
	"strings"
)

// authenticate finds the principal of a request: by its verified client
// certificate when it presented one, else by its bearer token when tokens
// are enabled (from a browser's session cookie when the request has no
// Authorization header). A request with more than one Authorization
// credential is refused whatever else it carries: which one counts would
// depend on the proxies in between, so none does.
func (s *Server) authenticate(r *http.Request) (Principal, error) {
	if vs := r.Header.Values("Authorization"); len(vs) > 1 || (len(vs) == 1 && credentials(vs[0]) > 1) {
		return Principal{}, errorf(KindMalformed, CodeAmbiguousCredentials, "the request carries more than one Authorization credential; send exactly one")
	}
	if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 && len(r.TLS.PeerCertificates) > 0 {
		if p, ok := s.cfg.Parties.ByCertificate(r.TLS.PeerCertificates[0]); ok {
			return p, nil
		}
		return Principal{}, errorf(KindUnauthenticated, CodeUnauthenticated, "the client certificate belongs to no registered party")
	}
	auth := r.Header.Get("Authorization")
	if c, err := r.Cookie(sessionCookie); auth == "" && s.cfg.AllowTokens && err == nil && c.Value != "" {
		auth = "Bearer " + c.Value // a browser's login (login.go)
	}
	if auth == "" {
		if s.tls != nil {
			return Principal{}, errorf(KindUnauthenticated, CodeUnauthenticated, "a client certificate is required")
		}
		return Principal{}, errorf(KindUnauthenticated, CodeUnauthenticated, "an Authorization: Bearer token is required")
	}
	if !s.cfg.AllowTokens {
		return Principal{}, errorf(KindUnauthenticated, CodeUnauthenticated, "bearer tokens are not enabled; use a client certificate")
	}
	token, ok := bearer(auth)
	if !ok {
		return Principal{}, errorf(KindUnauthenticated, CodeUnauthenticated, "the Authorization header is not of the form \"Bearer <token>\"")
	}
	p, ok := s.cfg.Parties.ByToken(token)
	if !ok {
		return Principal{}, errorf(KindUnauthenticated, CodeUnauthenticated, "unknown bearer token")
	}
	return p, nil
}

// bearer extracts the token of an "Authorization: Bearer <token>" value.
func bearer(header string) (string, bool) {
	const prefix = "bearer "
	if len(header) <= len(prefix) || !strings.EqualFold(header[:len(prefix)], prefix) {
		return "", false
	}
	token := strings.TrimSpace(header[len(prefix):])
	if token == "" || strings.ContainsAny(token, " \t") {
		return "", false
	}
	return token, true
}

// credentials counts the credentials in one Authorization value. The field
// holds a single credential (RFC 9110, section 11.6.2), but a proxy may
// have joined several fields with commas. A comma also separates the
// auth-params of one credential ("Digest realm=\"a\", nonce=\"b\""), so an
// element after a comma starts a new credential unless it is a name=value
// pair; commas inside quoted strings do not count.
func credentials(value string) int {
	n := 0
	for _, el := range listElements(value) {
		el = strings.TrimLeft(el, " \t")
		if el == "" {
			continue // the list syntax allows empty elements
		}
		if n == 0 || !isAuthParam(el) {
			n++
		}
	}
	return n
}

// listElements splits a header value at the commas outside quoted strings.
func listElements(value string) []string {
	var els []string
	quoted, escaped, start := false, false, 0
	for i := 0; i < len(value); i++ {
		switch c := value[i]; {
		case escaped:
			escaped = false
		case quoted && c == '\\':
			escaped = true
		case c == '"':
			quoted = !quoted
		case c == ',' && !quoted:
			els = append(els, value[start:i])
			start = i + 1
		}
	}
	return append(els, value[start:])
}

// isAuthParam reports whether a list element is an auth-param: a token,
// optional blanks, then '='.
func isAuthParam(el string) bool {
	rest := strings.TrimLeft(el, tokenChars)
	return len(rest) < len(el) && strings.HasPrefix(strings.TrimLeft(rest, " \t"), "=")
}

// tokenChars are the characters of an HTTP token (RFC 9110, section 5.6.2).
const tokenChars = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// mailboxOf returns the mailbox a principal reads: its own party code.
func mailboxOf(p Principal) (string, error) {
	if !p.Party {
		return "", errorf(KindForbidden, CodeForbidden, "%s is not a party and has no mailbox", p.ID)
	}
	return p.ID, nil
}
