package gateway

import (
	"net/http"
	"strconv"
	"time"
)

// Quarantined is one line of GET /v1/quarantine: a message that was not
// confirmed after the store's delivery attempts (or that push delivery
// gave up on), kept out of its mailbox until an operator releases it. It
// holds metadata only, never content.
type Quarantined struct {
	ID           string    `json:"id"`
	Berichtsoort string    `json:"berichtsoort"`
	Afzender     string    `json:"afzender"`
	Ontvanger    string    `json:"ontvanger"` // the mailbox it was taken from
	Received     time.Time `json:"received"`
	Size         int64     `json:"size"`
	Deliveries   int       `json:"deliveries"`
}

// QuarantineListing is the answer of GET /v1/quarantine; Next, when set, is
// the after= of the next page.
type QuarantineListing struct {
	Berichten []Quarantined `json:"berichten"`
	Next      string        `json:"next,omitempty"`
}

// listQuarantine is GET /v1/quarantine?after=ID&limit=N: quarantined
// messages of every mailbox in id order, for operators.
func (s *Server) listQuarantine(w http.ResponseWriter, r *http.Request, rq *request) error {
	limit := s.cfg.MailboxLimit
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxMailboxLimit {
			return errorf(KindMalformed, CodeBadRequest, "limit must be a number from 1 to %d", MaxMailboxLimit)
		}
		limit = n
	}
	entries, err := s.cfg.Store.Quarantined(r.Context(), r.URL.Query().Get("after"), limit)
	if err != nil {
		return err
	}
	out := QuarantineListing{Berichten: entries}
	if out.Berichten == nil {
		out.Berichten = []Quarantined{}
	}
	if len(entries) == limit {
		out.Next = entries[len(entries)-1].ID
	}
	rq.count = len(entries)
	s.writeJSON(w, rq, http.StatusOK, out)
	return nil
}

// releaseQuarantine is POST /v1/quarantine/{id}/release: the message goes
// back into its mailbox with its delivery count reset, for its recipient
// to list (or push delivery to try) again.
func (s *Server) releaseQuarantine(w http.ResponseWriter, r *http.Request, rq *request) error {
	id := r.PathValue("id")
	rq.messageID = id
	if err := s.cfg.Store.Release(r.Context(), id); err != nil {
		return err
	}
	rq.status, rq.code = http.StatusNoContent, "ok"
	w.WriteHeader(http.StatusNoContent)
	return nil
}
