package gateway

import (
	"net/http"
	"strings"
)

// authenticate finds the principal of a request: by its verified client
// certificate when it presented one, else by its bearer token when tokens
// are enabled.
func (s *Server) authenticate(r *http.Request) (Principal, error) {
	if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 && len(r.TLS.PeerCertificates) > 0 {
		if p, ok := s.cfg.Parties.ByCertificate(r.TLS.PeerCertificates[0]); ok {
			return p, nil
		}
		return Principal{}, errorf(KindUnauthenticated, CodeUnauthenticated, "the client certificate belongs to no registered party")
	}
	auth := r.Header.Get("Authorization")
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

// mailboxOf returns the mailbox a principal reads: its own party code.
func mailboxOf(p Principal) (string, error) {
	if !p.Party {
		return "", errorf(KindForbidden, CodeForbidden, "%s is not a party and has no mailbox", p.ID)
	}
	return p.ID, nil
}
