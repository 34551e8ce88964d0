package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Zoekpad types of POST …/berichten/zoeken.
const (
	zoekOpBerichtstroom = "ZoekpadOpBerichtstroom"
	zoekOpConversatieID = "ZoekpadOpConversatieId"
	zoekOpAlsAntwoordOp = "ZoekpadOpAlsAntwoordOp"
)

// maxZoekpad bounds a search request body.
const maxZoekpad = 16 << 10

// vspZoekpad is every field of the three Zoekpad types; zoekpadType says
// which apply, and a field of another type is refused.
type vspZoekpad struct {
	ZoekpadType       string `json:"zoekpadType"`
	Berichttype       string `json:"berichttype"`
	Berichtsubtype    string `json:"berichtsubtype"`
	Berichtversie     *int   `json:"berichtversie"`
	Berichtsubversie  *int   `json:"berichtsubversie"`
	Actie             string `json:"actie"`
	GeadresseerdeRol  string `json:"geadresseerdeRol"`
	GeadresseerdeCode string `json:"geadresseerdeCode"`
	ConversatieID     string `json:"conversatieId"`
	AlsAntwoordOp     string `json:"alsAntwoordOp"`
}

// check reports every field of z that breaks the description.
func (z *vspZoekpad) check(raw map[string]json.RawMessage) error {
	f := fieldErrors{}
	allowed := map[string][]string{
		zoekOpBerichtstroom: {"berichttype", "berichtsubtype", "berichtversie", "berichtsubversie", "actie", "geadresseerdeRol", "geadresseerdeCode"},
		zoekOpConversatieID: {"conversatieId"},
		zoekOpAlsAntwoordOp: {"alsAntwoordOp"},
	}
	fields, ok := allowed[z.ZoekpadType]
	if !ok {
		f.add("zoekpadType", "must be one of %s, %s, %s", zoekOpBerichtstroom, zoekOpConversatieID, zoekOpAlsAntwoordOp)
		return f.refusal("the zoekpad")
	}
	for k := range raw {
		if k != "zoekpadType" && !slices.Contains(fields, k) {
			f.add(k, "is not a field of %s", z.ZoekpadType)
		}
	}
	switch z.ZoekpadType {
	case zoekOpBerichtstroom:
		f.text("berichttype", z.Berichttype, 1, 60)
		for _, t := range []struct {
			name, v string
			max     int
		}{{"berichtsubtype", z.Berichtsubtype, 60}, {"actie", z.Actie, 60}, {"geadresseerdeRol", z.GeadresseerdeRol, 100}, {"geadresseerdeCode", z.GeadresseerdeCode, 100}} {
			if _, set := raw[t.name]; set {
				f.text(t.name, t.v, 1, t.max)
			}
		}
		for _, n := range []struct {
			name string
			v    *int
		}{{"berichtversie", z.Berichtversie}, {"berichtsubversie", z.Berichtsubversie}} {
			if n.v != nil && (*n.v < 0 || *n.v > 999) {
				f.add(n.name, "must be from 0 to 999")
			}
		}
	case zoekOpConversatieID:
		f.uuid("conversatieId", z.ConversatieID, true)
	case zoekOpAlsAntwoordOp:
		f.uuid("alsAntwoordOp", z.AlsAntwoordOp, true)
	}
	return f.refusal("the zoekpad")
}

// matches reports whether m fits a ZoekpadOpBerichtstroom.
func (z *vspZoekpad) matches(m vspMessage) bool {
	r := m.routering()
	bs := r.Berichtstroom
	switch {
	case !strings.EqualFold(bs.Berichttype, z.Berichttype):
		return false
	case z.Berichtsubtype != "" && z.Berichtsubtype != bs.Berichtsubtype:
		return false
	case z.Berichtversie != nil && *z.Berichtversie != bs.Berichtversie:
		return false
	case z.Berichtsubversie != nil && *z.Berichtsubversie != bs.Berichtsubversie:
		return false
	case z.Actie != "" && !strings.EqualFold(z.Actie, bs.Actie):
		return false
	case z.GeadresseerdeRol != "" && !strings.EqualFold(z.GeadresseerdeRol, r.Geadresseerden[0].Rol):
		return false
	case z.GeadresseerdeCode != "" && z.GeadresseerdeCode != r.Geadresseerden[0].Code:
		return false
	}
	return true
}

// readZoekpad decodes and checks the search request.
func (s *Server) readZoekpad(w http.ResponseWriter, r *http.Request) (*vspZoekpad, error) {
	if err := contentType(r, "application/json"); err != nil {
		return nil, err
	}
	raw, err := readSmallBody(w, r, maxZoekpad)
	if err != nil {
		return nil, err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, fieldErrors{"zoekpad": {"is not a JSON object"}}.refusal("the zoekpad")
	}
	var z vspZoekpad
	if err := json.NewDecoder(bytes.NewReader(raw)).Decode(&z); err != nil {
		return nil, fieldErrors{"zoekpad": {"holds a field of the wrong type"}}.refusal("the zoekpad")
	}
	if err := z.check(fields); err != nil {
		return nil, err
	}
	return &z, nil
}

// readSmallBody reads a small JSON body of at most limit bytes.
func readSmallBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit)); err != nil {
		return nil, readError(err, limit, "the body is not readable")
	}
	return buf.Bytes(), nil
}

// vspSearch is POST …/rest-pull/v1/berichten/zoeken?limit=N: pending
// messages of the caller's mailbox that fit the Zoekpad, oldest first.
// A search by berichtstroom looks at the oldest MaxMailboxLimit pending
// messages; one by conversatieId or alsAntwoordOp finds the conversation
// wherever it is.
func (s *Server) vspSearch(w http.ResponseWriter, r *http.Request, rq *request) error {
	mailbox, err := mailboxOf(rq.principal)
	if err != nil {
		return err
	}
	limit, err := vspLimit(r)
	if err != nil {
		return err
	}
	z, err := s.readZoekpad(w, r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	var ms []vspMessage
	switch z.ZoekpadType {
	case zoekOpBerichtstroom:
		entries, err := s.cfg.Store.Pending(ctx, mailbox, MaxMailboxLimit)
		if err != nil {
			return err
		}
		for _, e := range entries {
			m, err := s.vspNamed(ctx, pendingTrace(e, mailbox))
			if err != nil {
				return err
			}
			if z.matches(m) && len(ms) < limit {
				ms = append(ms, m)
			}
		}
	case zoekOpConversatieID:
		root, ok, err := s.cfg.Correlations.ByConversatie(ctx, strings.ToLower(z.ConversatieID))
		if err != nil {
			return err
		}
		if ok {
			if ms, err = s.pendingOf(ctx, mailbox, root, true); err != nil {
				return err
			}
		}
	case zoekOpAlsAntwoordOp:
		heen, ok, err := s.cfg.Correlations.ByTraceer(ctx, strings.ToLower(z.AlsAntwoordOp))
		if err != nil {
			return err
		}
		if ok {
			if ms, err = s.pendingOf(ctx, mailbox, heen, false); err != nil {
				return err
			}
		}
	}
	return s.vspWriteListing(w, r, rq, ms[:min(len(ms), limit)])
}

// pendingOf returns the messages of the conversation of heen — heen itself
// when withHeen, and its answer — that wait in mailbox.
func (s *Server) pendingOf(ctx context.Context, mailbox, heen string, withHeen bool) ([]vspMessage, error) {
	var out []vspMessage
	next, first := heen, true
	for next != "" {
		m, err := s.vspMessage(ctx, next)
		if isNotFound(err) {
			break
		}
		if err != nil {
			return nil, err
		}
		if (withHeen || !first) && m.trace.pendingFor(mailbox) {
			out = append(out, m)
		}
		if !first {
			break
		}
		next, first = m.trace.Retour, false
	}
	return out, nil
}

// Berichtstatus values of VECOZO's status API that the switch reaches.
const (
	vspWordtVerwerkt       = "WordtVerwerkt"
	vspAfgekeurdDoorDienst = "AfgekeurdDoorDienst"
	vspAangeboden          = "Aangeboden"
	vspBezorgd             = "Bezorgd"
)

type vspMelding struct {
	Code         string `json:"code"`
	Omschrijving string `json:"omschrijving"`
	Toelichting  string `json:"toelichting,omitempty"`
}

// vspStatusGegevens is BerichtstatusGegevens.
type vspStatusGegevens struct {
	Referentiegegevens       vspReferentie    `json:"referentiegegevens"`
	Berichtstroom            vspBerichtstroom `json:"berichtstroom"`
	Berichtstatus            string           `json:"berichtstatus"`
	BerichtstatusGewijzigdOp time.Time        `json:"berichtstatusGewijzigdOp"`
	Meldingen                []vspMelding     `json:"meldingen,omitempty"`
	BerichtOntvangenOp       time.Time        `json:"berichtOntvangenOp"`
}

// status maps m's history to VECOZO's status: stored in the recipient's
// mailbox is Aangeboden, confirmed is Bezorgd, and a heenbericht the
// switch answered for breaking the standard's rules is AfgekeurdDoorDienst
// (its retourbericht waits in the sender's mailbox).
func (m vspMessage) status() vspStatusGegevens {
	t := m.trace
	g := vspStatusGegevens{Referentiegegevens: m.ref, Berichtstroom: vspStroom(t.Berichtsoort),
		Berichtstatus: vspWordtVerwerkt, BerichtOntvangenOp: t.received()}
	g.BerichtstatusGewijzigdOp = g.BerichtOntvangenOp
	for _, e := range t.Events {
		switch e.State {
		case "stored":
			if g.Berichtstatus == vspWordtVerwerkt {
				g.Berichtstatus, g.BerichtstatusGewijzigdOp = vspAangeboden, e.At
			}
		case "confirmed":
			if g.Berichtstatus != vspBezorgd {
				g.Berichtstatus, g.BerichtstatusGewijzigdOp = vspBezorgd, e.At
			}
		}
	}
	if t.Recipient == SwitchMailbox {
		g.Berichtstatus = vspAfgekeurdDoorDienst
		for _, e := range t.Events {
			if e.State == "retour-received" {
				g.BerichtstatusGewijzigdOp = e.At
				break
			}
		}
		g.Meldingen = []vspMelding{{Code: "retourbericht", Omschrijving: "Het bericht voldoet niet aan de regels van de standaard; de switch heeft het beantwoord met een retourbericht.",
			Toelichting: "Het retourbericht staat klaar in de berichtenbox van de afzender (alsAntwoordOp is de traceerId van dit bericht)."}}
	}
	return g
}

// vspStatuses is GET …/berichtstatus/rest-pull/v2/berichtstatussen with
// exactly one of traceerId (that message and the answer to it) and
// conversatieId (the whole conversation). Messages the caller neither
// sent nor received are left out, as unknown ones are: the answer is
// then an empty list.
func (s *Server) vspStatuses(w http.ResponseWriter, r *http.Request, rq *request) error {
	q := r.URL.Query()
	traceer, conversatie := q.Get("traceerId"), q.Get("conversatieId")
	if (traceer == "") == (conversatie == "") {
		e := errorf(KindMalformed, CodeBadRequest, "give exactly one of traceerId and conversatieId")
		e.Fields = map[string][]string{"traceerId": {e.Message}, "conversatieId": {e.Message}}
		return e
	}
	ctx := r.Context()
	var (
		id  string
		ok  bool
		err error
	)
	if traceer != "" {
		var u string
		if u, err = vspUUID("traceerId", traceer); err != nil {
			return err
		}
		id, ok, err = s.cfg.Correlations.ByTraceer(ctx, u)
	} else {
		var u string
		if u, err = vspUUID("conversatieId", conversatie); err != nil {
			return err
		}
		id, ok, err = s.cfg.Correlations.ByConversatie(ctx, u)
	}
	if err != nil {
		return err
	}
	out := []vspStatusGegevens{}
	if ok {
		if out, err = s.vspConversation(ctx, rq.principal, id, conversatie != ""); err != nil {
			return err
		}
	}
	rq.count = len(out)
	s.writeJSON(w, rq, http.StatusOK, out)
	return nil
}

// vspConversation is the status of message id and of the answer to it,
// as far as p may see them; fromHeen starts at the heenbericht when id is
// an answer (a conversation is named by any of its messages).
func (s *Server) vspConversation(ctx context.Context, p Principal, id string, fromHeen bool) ([]vspStatusGegevens, error) {
	out := []vspStatusGegevens{}
	next := id
	for i := 0; next != "" && i < 3; i++ {
		m, err := s.vspMessage(ctx, next)
		if isNotFound(err) {
			break
		}
		if err != nil {
			return nil, err
		}
		if fromHeen && m.trace.Heen != "" && i == 0 {
			next = m.trace.Heen
			continue
		}
		if p.Operator || s.cfg.Parties.ActsFor(p, m.trace.Sender) || s.cfg.Parties.ActsFor(p, m.trace.Recipient) {
			out = append(out, m.status())
		}
		next = m.trace.Retour
	}
	return out, nil
}
