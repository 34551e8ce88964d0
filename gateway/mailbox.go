package gateway

import (
	"net/http"
	"strconv"
	"time"
)

// Listing is the answer of GET /v1/mailbox.
type Listing struct {
	Berichten []Listed `json:"berichten"`
}

// Listed is one pending message in a Listing.
type Listed struct {
	ID           string     `json:"id"`
	Berichtsoort string     `json:"berichtsoort"`
	Afzender     string     `json:"afzender"`
	Received     time.Time  `json:"received"`
	Size         int64      `json:"size"`
	LeasedUntil  *time.Time `json:"leased_until,omitempty"`
}

// listMailbox is GET /v1/mailbox?limit=N: up to N pending messages of the
// caller's mailbox, leased to this caller.
func (s *Server) listMailbox(w http.ResponseWriter, r *http.Request, rq *request) error {
	mailbox, err := mailboxOf(rq.principal)
	if err != nil {
		return err
	}
	limit := s.cfg.MailboxLimit
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxMailboxLimit {
			return errorf(KindMalformed, CodeBadRequest, "limit must be a number from 1 to %d", MaxMailboxLimit)
		}
		limit = n
	}
	entries, err := s.cfg.Store.List(r.Context(), mailbox, limit)
	if err != nil {
		return err
	}
	out := Listing{Berichten: make([]Listed, len(entries))}
	for i, e := range entries {
		out.Berichten[i] = Listed{ID: e.ID, Berichtsoort: e.Berichtsoort, Afzender: e.Afzender, Received: e.Received, Size: e.Size}
		if !e.LeasedUntil.IsZero() {
			out.Berichten[i].LeasedUntil = &entries[i].LeasedUntil
		}
	}
	rq.count = len(entries)
	s.writeJSON(w, rq, http.StatusOK, out)
	return nil
}

// fetchMailbox is GET /v1/mailbox/{id}: the exact bytes received.
func (s *Server) fetchMailbox(w http.ResponseWriter, r *http.Request, rq *request) error {
	mailbox, err := mailboxOf(rq.principal)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	rq.messageID = id
	body, err := s.cfg.Store.Fetch(r.Context(), mailbox, id)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "application/xml")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	rq.status, rq.code = http.StatusOK, "ok"
	w.Write(body) // a failed write means the client went away; the lease brings the message back
	return nil
}

// ackMailbox is DELETE /v1/mailbox/{id}: confirm receipt. Idempotent.
func (s *Server) ackMailbox(w http.ResponseWriter, r *http.Request, rq *request) error {
	mailbox, err := mailboxOf(rq.principal)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	rq.messageID = id
	if err := s.cfg.Store.Ack(r.Context(), mailbox, id); err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
	rq.status, rq.code = http.StatusNoContent, "ok"
	return nil
}
