package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/knooppunt/knooppunt/bericht"
)

// The VSP face serves VECOZO's three REST descriptions (berichtuitwisseling
// pull v1 and push v1, berichtstatus pull v2) on the API's listener, over
// the same authentication, role table, limits, audit, validation, routing
// and store as /v1: software that speaks VECOZO's API changes only its base
// URL and certificate. What differs is names and shapes:
//
//   - Messages are named by UUIDs. A message sent through this face keeps
//     the traceerId, conversatieId, alsAntwoordOp and referentieId its
//     sender chose, stored with it in the same write (Message.Correlation,
//     found again through Correlations); any other message is named by its
//     id written as a UUID, its conversation by its heenbericht's, so both
//     faces and the StUF-GGk door see one set of messages.
//   - Pull lists what is pending until it is confirmed, as VECOZO's pull
//     does, without leases (Store.Pending); a message under a /v1 lease is
//     left out while the lease holds, so /v1's pollers keep theirs.
//   - Errors are RFC 7807 problem details (ValidationProblemDetails) with
//     the same stable code as /v1 in "code".
const (
	vspBase   = "/berichtenservice/"
	vspPull   = "/berichtenservice/berichten/rest-pull/v1"
	vspPush   = "/berichtenservice/berichten/rest-push/v1"
	vspStatus = "/berichtenservice/berichtstatus/rest-pull/v2"
)

// vspRoutes are the face's endpoints; each has a row in Permissions.
var vspRoutes = []route{
	{vspPull + "/berichten", http.MethodGet, (*Server).vspList},
	{vspPull + "/berichten/zoeken", http.MethodPost, (*Server).vspSearch},
	{vspPull + "/berichten/{traceerId}/payload", http.MethodGet, (*Server).vspPayload},
	{vspPull + "/berichten/{traceerId}", http.MethodDelete, (*Server).vspConfirm},
	{vspPush + "/berichten", http.MethodPost, (*Server).vspPost},
	{vspStatus + "/berichtstatussen", http.MethodGet, (*Server).vspStatuses},
}

// Codes of refusals only the VSP face makes.
const (
	// CodeTraceerTaken: the traceerId of a sent message already names
	// another message.
	CodeTraceerTaken = "traceer-id-taken"
	// CodeMetadataMismatch: berichtMetadata says another afzender or
	// geadresseerde than the message's header.
	CodeMetadataMismatch = "metadata-mismatch"
)

// vspDefaultLimit is the page a VSP listing returns without a limit, as
// VECOZO's pull does.
const vspDefaultLimit = 250

// Acties of the berichtstroom: a heenbericht is submitted, an answer
// (retourbericht, 325) returned.
const (
	vspActieIndienen    = "Indienen"
	vspActieRetourneren = "Retourneren"
)

// vspRelatie is a party in routeringgegevens: its role and code.
type vspRelatie struct {
	Rol  string `json:"rol"`
	Code string `json:"code,omitempty"`
}

// vspBerichtstroom names the kind of message: berichttype is the
// berichtsoort (WMO301), versie and subversie its release (3, 2).
type vspBerichtstroom struct {
	Berichttype      string `json:"berichttype"`
	Berichtsubtype   string `json:"berichtsubtype,omitempty"`
	Berichtversie    int    `json:"berichtversie"`
	Berichtsubversie int    `json:"berichtsubversie"`
	Actie            string `json:"actie"`
}

type vspRoutering struct {
	Afzender       vspRelatie       `json:"afzender"`
	Geadresseerden []vspRelatie     `json:"geadresseerden"`
	Berichtstroom  vspBerichtstroom `json:"berichtstroom"`
}

type vspReferentie struct {
	ConversatieID string `json:"conversatieId"`
	TraceerID     string `json:"traceerId"`
	AlsAntwoordOp string `json:"alsAntwoordOp,omitempty"`
	ReferentieID  string `json:"referentieId,omitempty"`
}

type vspChecksum struct {
	Algoritme string `json:"algoritme"`
	Waarde    string `json:"waarde"`
}

type vspDownload struct {
	URL      string      `json:"url"`
	Grootte  int64       `json:"grootte"`
	Checksum vspChecksum `json:"checksum"`
}

type vspBasis struct {
	OntvangenOp time.Time   `json:"ontvangenOp"`
	Payload     vspDownload `json:"payload"`
}

// vspMetadata is BerichtMetadata as the pull face lists it.
type vspMetadata struct {
	Basisgegevens      vspBasis        `json:"basisgegevens"`
	Routeringgegevens  vspRoutering    `json:"routeringgegevens"`
	Referentiegegevens vspReferentie   `json:"referentiegegevens"`
	Verwerkingscontext json.RawMessage `json:"verwerkingscontext,omitempty"`
}

// vspMessage is what the face knows of one message: its track & trace
// record and its ids.
type vspMessage struct {
	trace Trace
	ref   vspReferentie
}

// vspMessage reads message id and names it (vspNamed).
func (s *Server) vspMessage(ctx context.Context, id string) (vspMessage, error) {
	t, err := s.cfg.Store.Trace(ctx, id)
	if err != nil {
		return vspMessage{}, err
	}
	return s.vspNamed(ctx, t)
}

// vspNamed gives t its ids: those its sender gave it, completed from its
// heenbericht's for an answer sent without them; a message that came in
// through another door is named by its id as a UUID.
func (s *Server) vspNamed(ctx context.Context, t Trace) (vspMessage, error) {
	var ref vspReferentie
	if c := t.Correlation; c != nil {
		ref = vspReferentie{TraceerID: c.Traceer, ConversatieID: c.Conversatie, AlsAntwoordOp: c.AlsAntwoordOp, ReferentieID: c.ReferentieID}
	} else {
		ref.TraceerID = s.cfg.Correlations.UUID(t.ID)
	}
	switch {
	case t.Heen == "" && ref.ConversatieID == "":
		ref.ConversatieID = ref.TraceerID
	case t.Heen != "" && (ref.ConversatieID == "" || ref.AlsAntwoordOp == ""):
		hc, hok, err := s.cfg.Correlations.Correlation(ctx, t.Heen)
		if err != nil {
			return vspMessage{}, err
		}
		if !hok {
			hc.Traceer = s.cfg.Correlations.UUID(t.Heen)
			hc.Conversatie = hc.Traceer
		}
		if ref.ConversatieID == "" {
			ref.ConversatieID = hc.Conversatie
		}
		if ref.AlsAntwoordOp == "" {
			ref.AlsAntwoordOp = hc.Traceer
		}
	}
	return vspMessage{trace: t, ref: ref}, nil
}

// pendingTrace is what a Pending entry of mailbox says of its message, as
// far as a listing needs it.
func pendingTrace(e Entry, mailbox string) Trace {
	return Trace{ID: e.ID, Berichtsoort: e.Berichtsoort, Sender: e.Afzender, Recipient: mailbox, Size: e.Size,
		SHA256: e.SHA256, Heen: e.Heen, Correlation: e.Correlation, Events: []Event{{State: "received", At: e.Received}}}
}

// vspStroom describes a message of berichtsoort name as a berichtstroom.
func vspStroom(name string) vspBerichtstroom {
	st := vspBerichtstroom{Berichttype: name, Actie: vspActieIndienen}
	soort, ok := bericht.Lookup(name)
	if !ok {
		return st
	}
	major, minor, _ := strings.Cut(soort.Release, ".")
	st.Berichtversie, _ = strconv.Atoi(major)
	st.Berichtsubversie, _ = strconv.Atoi(minor)
	if soort.Answers() {
		st.Actie = vspActieRetourneren
	}
	return st
}

// routering gives the parties of m with the roles of its berichtsoort.
func (m vspMessage) routering() vspRoutering {
	from, to := "", ""
	if soort, ok := bericht.Lookup(m.trace.Berichtsoort); ok {
		from, to = string(soort.Sender), string(soort.Receiver)
	}
	recipient := m.trace.Recipient
	if recipient == SwitchMailbox {
		recipient = "" // a heenbericht the switch answered; its addressee is not named here
	}
	r := vspRoutering{
		Afzender:       vspRelatie{Rol: orDash(from), Code: m.trace.Sender},
		Geadresseerden: []vspRelatie{{Rol: orDash(to), Code: recipient}},
		Berichtstroom:  vspStroom(m.trace.Berichtsoort),
	}
	return r
}

// orDash keeps a required text non-empty.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// metadata is m as a pull listing line; base is the pull face's URL.
func (m vspMessage) metadata(base string) vspMetadata {
	received := m.trace.received()
	return vspMetadata{
		Basisgegevens: vspBasis{OntvangenOp: received, Payload: vspDownload{
			URL:      base + "/berichten/" + m.ref.TraceerID + "/payload",
			Grootte:  max(m.trace.Size, 1),
			Checksum: vspChecksum{Algoritme: "SHA256", Waarde: m.trace.SHA256},
		}},
		Routeringgegevens:  m.routering(),
		Referentiegegevens: m.ref,
		Verwerkingscontext: m.context(),
	}
}

// context is the verwerkingscontext m's sender gave it; nil when none.
func (m vspMessage) context() json.RawMessage {
	if c := m.trace.Correlation; c != nil && len(c.Verwerkingscontext) > 0 {
		return c.Verwerkingscontext
	}
	return nil
}

// received is when the message arrived: its first event.
func (t Trace) received() time.Time {
	for _, e := range t.Events {
		if e.State == "received" {
			return e.At
		}
	}
	if len(t.Events) > 0 {
		return t.Events[0].At
	}
	return time.Time{}
}

// pendingFor reports whether t waits in mailbox: delivered there, neither
// confirmed nor quarantined.
func (t Trace) pendingFor(mailbox string) bool {
	if t.Recipient != mailbox {
		return false
	}
	last := ""
	for _, e := range t.Events {
		switch e.State {
		case "confirmed", "expired":
			return false
		case "quarantined", "released":
			last = e.State
		}
	}
	return last != "quarantined"
}

// vspBaseURL is the absolute URL of the face at prefix as the caller
// reached it.
func vspBaseURL(r *http.Request, prefix string) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + prefix
}

// vspLimit reads ?limit= (1..250, default 250).
func vspLimit(r *http.Request) (int, error) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return vspDefaultLimit, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > MaxMailboxLimit {
		e := errorf(KindMalformed, CodeBadRequest, "limit must be a number from 1 to %d", MaxMailboxLimit)
		e.Fields = map[string][]string{"limit": {e.Message}}
		return 0, e
	}
	return n, nil
}

// vspUUID reads a UUID from the path or query; a malformed one is refused
// with the name of its field.
func vspUUID(field, v string) (string, error) {
	if !isUUID(v) {
		e := errorf(KindMalformed, CodeBadRequest, "%s must be a UUID (8-4-4-4-12 hexadecimal digits)", field)
		e.Fields = map[string][]string{field: {e.Message}}
		return "", e
	}
	return strings.ToLower(v), nil
}

// isUUID reports whether v is in 8-4-4-4-12 hexadecimal form.
func isUUID(v string) bool {
	if len(v) != 36 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// vspResolve finds the message a traceerId in the path names for the
// caller's mailbox, and runs use on it (Fetch or Ack). A message that came
// in through another door is named by its id as a UUID, which is tried
// first: that costs one lookup for it and a failed one for a message with
// a traceerId of its sender's, which no message id equals (a push under a
// traceerId that is a message id is refused). Anything it cannot name is
// not found.
func (s *Server) vspResolve(ctx context.Context, r *http.Request, rq *request, use func(mailbox, id string) error) error {
	mailbox, err := mailboxOf(rq.principal)
	if err != nil {
		return err
	}
	traceer := r.PathValue("traceerId")
	notFound := errorf(KindNotFound, CodeNotFound, "no message %s for this party", traceer)
	if !isUUID(traceer) {
		return notFound
	}
	traceer = strings.ToLower(traceer)
	if id := s.cfg.Correlations.ID(traceer); id != "" {
		rq.messageID = id
		if err := use(mailbox, id); !isNotFound(err) {
			return err
		}
	}
	id, ok, err := s.cfg.Correlations.ByTraceer(ctx, traceer)
	if err != nil {
		return err
	}
	if !ok || id == rq.messageID {
		return notFound
	}
	rq.messageID = id
	return use(mailbox, id)
}

// vspList is GET …/rest-pull/v1/berichten?limit=N: the oldest N pending
// messages of the caller's mailbox, listed again until confirmed.
func (s *Server) vspList(w http.ResponseWriter, r *http.Request, rq *request) error {
	mailbox, err := mailboxOf(rq.principal)
	if err != nil {
		return err
	}
	limit, err := vspLimit(r)
	if err != nil {
		return err
	}
	entries, err := s.cfg.Store.Pending(r.Context(), mailbox, limit)
	if err != nil {
		return err
	}
	ms := make([]vspMessage, 0, len(entries))
	for _, e := range entries {
		m, err := s.vspNamed(r.Context(), pendingTrace(e, mailbox))
		if err != nil {
			return err
		}
		ms = append(ms, m)
	}
	return s.vspWriteListing(w, r, rq, ms)
}

// vspWriteListing answers the metadata of ms.
func (s *Server) vspWriteListing(w http.ResponseWriter, r *http.Request, rq *request, ms []vspMessage) error {
	base := vspBaseURL(r, vspPull)
	out := make([]vspMetadata, len(ms))
	for i, m := range ms {
		out[i] = m.metadata(base)
	}
	rq.count = len(out)
	s.writeJSON(w, rq, http.StatusOK, out)
	return nil
}

// isNotFound reports a refusal of KindNotFound.
func isNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == KindNotFound
}

// vspPayload is GET …/berichten/{traceerId}/payload: the exact bytes.
func (s *Server) vspPayload(w http.ResponseWriter, r *http.Request, rq *request) error {
	var body []byte
	err := s.vspResolve(r.Context(), r, rq, func(mailbox, id string) (err error) {
		body, err = s.cfg.Store.Fetch(r.Context(), mailbox, id)
		return err
	})
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	rq.status, rq.code = http.StatusOK, "ok"
	w.Write(body) // a failed write means the client went away; the message stays pending
	return nil
}

// vspConfirm is DELETE …/berichten/{traceerId}: confirm receipt (202).
// Idempotent, as DELETE /v1/mailbox/{id}.
func (s *Server) vspConfirm(w http.ResponseWriter, r *http.Request, rq *request) error {
	err := s.vspResolve(r.Context(), r, rq, func(mailbox, id string) error {
		return s.cfg.Store.Ack(r.Context(), mailbox, id)
	})
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusAccepted)
	rq.status, rq.code = http.StatusAccepted, "ok"
	return nil
}
