package gateway

import (
	"net/http"
	"time"
)

// TraceView is the answer of GET /v1/berichten/{id}.
type TraceView struct {
	ID            string      `json:"id"`
	Berichtsoort  string      `json:"berichtsoort"`
	Afzender      string      `json:"afzender"`
	Ontvanger     string      `json:"ontvanger"`
	Identificatie string      `json:"identificatie"`
	Events        []EventView `json:"events"`
	Heen          string      `json:"heen,omitempty"`
	Retour        string      `json:"retour,omitempty"`
	// RetourAfterMs is the time from the heenbericht's arrival to its
	// answer's, in milliseconds: how long the recipient (or the switch)
	// took to answer.
	RetourAfterMs *int64 `json:"retourAfterMs,omitempty"`
}

// EventView is one state of a message with its time.
type EventView struct {
	State string    `json:"state"`
	At    time.Time `json:"at"`
}

// getTrace is GET /v1/berichten/{id}: the history of a message for the
// party that sent it, the party whose mailbox received it, the parties
// acting for either, and operators. Anyone else is told it does not exist.
func (s *Server) getTrace(w http.ResponseWriter, r *http.Request, rq *request) error {
	id := r.PathValue("id")
	rq.messageID = id
	t, err := s.cfg.Store.Trace(r.Context(), id)
	if err != nil {
		return err
	}
	p := rq.principal
	if !p.Operator && !s.cfg.Parties.ActsFor(p, t.Sender) && !s.cfg.Parties.ActsFor(p, t.Recipient) {
		return errorf(KindNotFound, CodeNotFound, "no message %s for this party", id)
	}
	rq.berichtsoort = t.Berichtsoort
	v := TraceView{
		ID: t.ID, Berichtsoort: t.Berichtsoort, Afzender: t.Sender, Ontvanger: t.Recipient,
		Identificatie: t.Identificatie, Heen: t.Heen, Retour: t.Retour,
		Events: make([]EventView, len(t.Events)),
	}
	for i, e := range t.Events {
		v.Events[i] = EventView{State: e.State, At: e.At}
	}
	v.RetourAfterMs = retourAfter(t.Events)
	s.writeJSON(w, rq, http.StatusOK, v)
	return nil
}
