package gateway

import (
	"context"
	"net/http"

	"github.com/knooppunt/knooppunt/bericht"
)

// Ingest takes one message, posted by the authenticated principal p through
// another front door than POST /v1/berichten (the StUF-GGk SOAP endpoint),
// through the same validation, routing and store, with the same metrics and
// refusals (*Error). check, if not nil, sees the validated header before
// routing and may refuse the message with an error of its own; nothing is
// stored then. One pipeline, two front doors.
func (s *Server) Ingest(ctx context.Context, p Principal, body []byte, check func(bericht.Header) error) (Accepted, error) {
	return s.ingestChecked(ctx, p, body, s.cfg.Now(), nil, check)
}

// Authenticate finds the principal of a request exactly as the REST API
// does (verified client certificate, else bearer token when enabled), for
// front doors mounted beside the gateway.
func (s *Server) Authenticate(r *http.Request) (Principal, error) {
	return s.authenticate(r)
}

// Accepted statuses, for front doors that translate the outcome.
const (
	StatusStored    = statusStored
	StatusDuplicate = statusDuplicate
)
