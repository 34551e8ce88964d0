package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"slices"
	"strings"

	"github.com/knooppunt/knooppunt/bericht"
)

// maxVSPMetadata bounds the berichtMetadata part: its arrays hold at most
// 100 entries of at most a few hundred bytes each.
const maxVSPMetadata = 256 << 10

// MaxVerwerkingscontext bounds a pushed message's verwerkingscontext, as
// JSON, which is stored with the message and handed to its recipient.
const MaxVerwerkingscontext = 64 << 10

// vspPushMetadata is BerichtMetadata as the push face receives it.
type vspPushMetadata struct {
	Routeringgegevens  *vspRoutering   `json:"routeringgegevens"`
	Referentiegegevens *vspReferentie  `json:"referentiegegevens"`
	Verwerkingscontext []vspSleutelSet `json:"verwerkingscontext,omitempty"`
}

// vspSleutelSet is a SleutelWaardePaar: context the sender attaches, which
// the switch checks for form and otherwise ignores.
type vspSleutelSet struct {
	Sleutel string   `json:"sleutel"`
	Waarde  []string `json:"waarde"`
}

// fieldErrors collects what is wrong per field, in the order found.
type fieldErrors map[string][]string

func (f fieldErrors) add(field, format string, args ...any) {
	f[field] = append(f[field], fmt.Sprintf(format, args...))
}

func (f fieldErrors) text(field, v string, minLen, maxLen int) {
	switch {
	case len(v) < minLen:
		f.add(field, "is required")
	case len(v) > maxLen:
		f.add(field, "is %d characters, at most %d", len(v), maxLen)
	}
}

func (f fieldErrors) uuid(field, v string, required bool) {
	switch {
	case v == "" && required:
		f.add(field, "is required")
	case v != "" && !isUUID(v):
		f.add(field, "must be a UUID (8-4-4-4-12 hexadecimal digits)")
	}
}

func (f fieldErrors) relatie(field string, r vspRelatie) {
	f.text(field+".rol", r.Rol, 1, 100)
	if r.Code != "" {
		f.text(field+".code", r.Code, 1, 100)
	}
}

// refusal is the 400 of these field errors in what, or nil when there are
// none.
func (f fieldErrors) refusal(what string) error {
	if len(f) == 0 {
		return nil
	}
	fields := make([]string, 0, len(f))
	for k := range f {
		fields = append(fields, k)
	}
	slices.Sort(fields)
	e := errorf(KindMalformed, CodeBadRequest, "%s is not valid: %s", what, strings.Join(fields, ", "))
	e.Fields = f
	return e
}

// check reports every field of m that breaks the push description.
func (m *vspPushMetadata) check() error {
	f := fieldErrors{}
	if rg := m.Routeringgegevens; rg == nil {
		f.add("berichtMetadata.routeringgegevens", "is required")
	} else {
		const p = "berichtMetadata.routeringgegevens"
		f.relatie(p+".afzender", rg.Afzender)
		if len(rg.Geadresseerden) > 100 {
			f.add(p+".geadresseerden", "has %d entries, at most 100", len(rg.Geadresseerden))
		}
		for i, g := range rg.Geadresseerden {
			f.relatie(fmt.Sprintf("%s.geadresseerden[%d]", p, i), g)
		}
		bs := rg.Berichtstroom
		f.text(p+".berichtstroom.berichttype", bs.Berichttype, 1, 60)
		if bs.Berichtsubtype != "" {
			f.text(p+".berichtstroom.berichtsubtype", bs.Berichtsubtype, 1, 60)
		}
		f.text(p+".berichtstroom.actie", bs.Actie, 1, 60)
		if bs.Berichtversie < 0 || bs.Berichtversie > 999 {
			f.add(p+".berichtstroom.berichtversie", "must be from 0 to 999")
		}
		if bs.Berichtsubversie < 0 || bs.Berichtsubversie > 999 {
			f.add(p+".berichtstroom.berichtsubversie", "must be from 0 to 999")
		}
	}
	if rf := m.Referentiegegevens; rf == nil {
		f.add("berichtMetadata.referentiegegevens", "is required")
	} else {
		const p = "berichtMetadata.referentiegegevens"
		f.uuid(p+".conversatieId", rf.ConversatieID, true)
		f.uuid(p+".traceerId", rf.TraceerID, true)
		f.uuid(p+".alsAntwoordOp", rf.AlsAntwoordOp, false)
		if rf.ReferentieID != "" {
			f.text(p+".referentieId", rf.ReferentieID, 1, 150)
		}
	}
	if n := len(m.Verwerkingscontext); n > 100 {
		f.add("berichtMetadata.verwerkingscontext", "has %d entries, at most 100", n)
	}
	for i, kv := range m.Verwerkingscontext {
		p := fmt.Sprintf("berichtMetadata.verwerkingscontext[%d]", i)
		f.text(p+".sleutel", kv.Sleutel, 1, 100)
		if len(kv.Waarde) < 1 || len(kv.Waarde) > 100 {
			f.add(p+".waarde", "must hold 1 to 100 values")
		}
		for j, v := range kv.Waarde {
			f.text(fmt.Sprintf("%s.waarde[%d]", p, j), v, 1, 250)
		}
	}
	return f.refusal("berichtMetadata")
}

// matches refuses a message whose header names other parties than the
// metadata: the header routes, and the two must not tell different
// stories.
func (m *vspPushMetadata) matches(h bericht.Header) error {
	f := fieldErrors{}
	rg := m.Routeringgegevens
	if c := rg.Afzender.Code; c != "" && c != h.Sender() {
		f.add("berichtMetadata.routeringgegevens.afzender.code", "is not the afzender of the message")
	}
	if len(rg.Geadresseerden) > 0 && !slices.ContainsFunc(rg.Geadresseerden, func(g vspRelatie) bool { return g.Code == "" || g.Code == h.Recipient() }) {
		f.add("berichtMetadata.routeringgegevens.geadresseerden", "do not name the ontvanger of the message")
	}
	if len(f) == 0 {
		return nil
	}
	e := errorf(KindInvalid, CodeMetadataMismatch, "berichtMetadata names other parties than the message's header")
	e.Fields = f
	return e
}

// vspPost is POST …/rest-push/v1/berichten: a multipart request with
// berichtMetadata (JSON) and payload (the message), taken through the
// pipeline of POST /v1/berichten. 204 once the message is stored with its
// ids (or was before, for a resend).
func (s *Server) vspPost(w http.ResponseWriter, r *http.Request, rq *request) error {
	meta, payload, err := s.readVSPPush(w, r)
	if err != nil {
		s.metrics.berichten.WithLabelValues(unknownSoort, asError(err).Code).Inc()
		return err
	}
	ctx := r.Context()
	ref := meta.Referentiegegevens
	rq.correlation = &Correlation{Traceer: strings.ToLower(ref.TraceerID), Conversatie: strings.ToLower(ref.ConversatieID),
		AlsAntwoordOp: strings.ToLower(ref.AlsAntwoordOp), ReferentieID: ref.ReferentieID}
	if len(meta.Verwerkingscontext) > 0 {
		raw, err := json.Marshal(meta.Verwerkingscontext)
		if err != nil {
			return err
		}
		if len(raw) > MaxVerwerkingscontext {
			f := fieldErrors{}
			f.add("berichtMetadata.verwerkingscontext", "is %d bytes as JSON, at most %d", len(raw), MaxVerwerkingscontext)
			return f.refusal("berichtMetadata")
		}
		rq.correlation.Verwerkingscontext = raw
	}
	check := func(h bericht.Header) error {
		if err := meta.matches(h); err != nil {
			return err
		}
		return s.traceerFree(ctx, rq.correlation.Traceer, h)
	}
	a, err := s.ingestChecked(ctx, rq.principal, payload, rq.start, rq, check)
	if err != nil {
		return vspPayloadError(err)
	}
	rq.code = a.Status
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
	rq.status = http.StatusNoContent
	return nil
}

// traceerFree refuses a traceerId that is the id of a message other than
// h, written as a UUID: such a traceerId would name two messages. (A
// traceerId stored with another message is refused by the store, in the
// write itself.)
func (s *Server) traceerFree(ctx context.Context, traceer string, h bericht.Header) error {
	id := s.cfg.Correlations.ID(traceer)
	if id == "" {
		return nil
	}
	t, err := s.cfg.Store.Trace(ctx, id)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	ident := h.Identificatie
	if h.Soort.Retour {
		ident = h.IdentificatieRetour
	}
	if t.Sender == h.Sender() && t.Berichtsoort == h.Soort.Name && t.Identificatie == ident {
		return nil
	}
	return TraceerTaken()
}

// TraceerTaken is the refusal of a message whose traceerId names another
// message, for the store port to give when the store refuses it.
func TraceerTaken() *Error {
	e := errorf(KindConflict, CodeTraceerTaken, "this traceerId already names another message; give every message a traceerId of its own")
	e.Fields = map[string][]string{"berichtMetadata.referentiegegevens.traceerId": {"names another message"}}
	return e
}

// vspPayloadError answers a refusal of the message itself 422, which the
// push description reserves for "do not send this request again": not
// XML, not valid, not routable, a conflicting resend. Refusals of the
// request or the caller (auth, limits, availability) keep their status.
func vspPayloadError(err error) error {
	e := asError(err)
	switch e.Kind {
	case KindMalformed, KindInvalid, KindUnroutable, KindConflict, KindNotFound:
		out := *e
		out.Kind = KindInvalid
		if out.Fields == nil && len(out.Violations) == 0 {
			out.Fields = map[string][]string{"payload": {e.Message}}
		}
		return &out
	}
	return err
}

// readVSPPush reads and checks the two parts of a push request.
func (s *Server) readVSPPush(w http.ResponseWriter, r *http.Request) (*vspPushMetadata, []byte, error) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return nil, nil, errorf(KindUnsupportedMedia, CodeUnsupportedMedia, "send multipart/form-data with the parts berichtMetadata and payload")
	}
	limit := s.cfg.MaxBodyBytes + maxVSPMetadata + 16<<10 // both parts and their headers
	if r.ContentLength > limit {
		return nil, nil, errorf(KindTooLarge, CodeBodyTooLarge, "the body is %d bytes; the limit is %d", r.ContentLength, limit)
	}
	mr := multipart.NewReader(http.MaxBytesReader(w, r.Body, limit), params["boundary"])
	var meta *vspPushMetadata
	var payload []byte
	missing := func(f fieldErrors) error {
		if meta == nil {
			f.add("berichtMetadata", "is required")
		}
		if payload == nil {
			f.add("payload", "is required")
		}
		return f.refusal("the request")
	}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, readError(err, limit, "the multipart body is not readable")
		}
		switch name := part.FormName(); {
		case name == "berichtMetadata" && meta == nil:
			meta, err = readVSPMetadata(part)
			if err != nil {
				return nil, nil, err
			}
		case name == "payload" && payload == nil:
			payload, err = readPart(part, s.cfg.MaxBodyBytes)
			if err != nil {
				return nil, nil, readError(err, s.cfg.MaxBodyBytes, "the payload part is not readable")
			}
			if len(payload) == 0 {
				return nil, nil, fieldErrors{"payload": {"is empty"}}.refusal("the request")
			}
		default:
			f := fieldErrors{}
			f.add(orDash(name), "is not a part of this request, or appears twice; send berichtMetadata and payload once each")
			return nil, nil, f.refusal("the request")
		}
	}
	if err := missing(fieldErrors{}); err != nil {
		return nil, nil, err
	}
	return meta, payload, nil
}

// readVSPMetadata decodes and checks the berichtMetadata part.
func readVSPMetadata(part *multipart.Part) (*vspPushMetadata, error) {
	raw, err := readPart(part, maxVSPMetadata)
	if err != nil {
		return nil, readError(err, maxVSPMetadata, "the berichtMetadata part is not readable")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var m vspPushMetadata
	if err := dec.Decode(&m); err != nil || dec.More() {
		msg := "is not a BerichtMetadata JSON object"
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) && ute.Field != "" {
			return nil, fieldErrors{"berichtMetadata." + ute.Field: {"has the wrong type"}}.refusal("berichtMetadata")
		}
		if err != nil && strings.HasPrefix(err.Error(), "json: unknown field ") {
			msg = "holds a field the description does not define: " + strings.TrimPrefix(err.Error(), "json: unknown field ")
		}
		return nil, fieldErrors{"berichtMetadata": {msg}}.refusal("berichtMetadata")
	}
	if err := m.check(); err != nil {
		return nil, err
	}
	return &m, nil
}

// readPart reads a part of at most limit bytes; more is *http.MaxBytesError.
func readPart(part *multipart.Part, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(part, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, &http.MaxBytesError{Limit: limit}
	}
	return b, nil
}

// readError turns a failed read into 413 or 400.
func readError(err error, limit int64, what string) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return errorf(KindTooLarge, CodeBodyTooLarge, "the body exceeds the limit of %d bytes", limit)
	}
	return errorf(KindMalformed, CodeBodyUnreadable, "%s", what)
}
