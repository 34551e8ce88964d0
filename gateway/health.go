package gateway

import (
	"context"
	"net/http"
	"time"
)

// Health is the body of /healthz and of a ready /readyz.
type Health struct {
	Status string `json:"status"`
	// Validation is the use of the validation slots (on /readyz).
	Validation *SlotUsage `json:"validation,omitempty"`
}

// healthz is GET /healthz: the process serves HTTP.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request, rq *request) error {
	s.writeJSON(w, rq, http.StatusOK, Health{Status: "ok"})
	return nil
}

// readyz is GET /readyz: 200 when every readiness check passes and the
// server is not shutting down, else 503 naming the first failing check.
// The body reports the use of the validation slots. Saturation alone is
// load, not a fault; but every slot held by validations that have outrun
// twice their deadline means validation is stuck, and the node unready.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request, rq *request) error {
	if s.draining.Load() {
		return errorf(KindUnavailable, CodeShuttingDown, "shutting down")
	}
	var usage *SlotUsage
	if s.slots != nil {
		u := s.slots.usage(s.cfg.Now())
		if u.Saturated && u.OldestSeconds > 2*s.cfg.ValidationTimeout.Seconds() {
			return errorf(KindUnavailable, CodeNotReady, "validation is stuck: all %d slots busy, the oldest for %.0f s", u.Slots, u.OldestSeconds)
		}
		usage = &u
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	for _, c := range s.cfg.Ready {
		if err := c.Check(ctx); err != nil {
			// The cause is logged, not sent: it may name paths.
			return &Error{Kind: KindUnavailable, Code: CodeNotReady, Message: c.Name + " is not ready", Err: err}
		}
	}
	s.writeJSON(w, rq, http.StatusOK, Health{Status: "ready", Validation: usage})
	return nil
}
