package stuf

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/gateway"
	"github.com/knooppunt/knooppunt/xsd"
)

// Pipeline is the gateway's ingest pipeline (*gateway.Server): validation,
// routing and store, exactly as for POST /v1/berichten.
type Pipeline interface {
	Ingest(ctx context.Context, p gateway.Principal, body []byte, check func(bericht.Header) error) (gateway.Accepted, error)
}

// Config configures a Handler. Pipeline, Authenticate and Schema are
// required; every other field has the default given in its comment.
type Config struct {
	// Pipeline takes the decoded payload: the gateway Server.
	Pipeline Pipeline
	// Authenticate finds the caller as the REST API does
	// ((*gateway.Server).Authenticate).
	Authenticate func(*http.Request) (gateway.Principal, error)
	// Admit applies the caller's limits before the request is read
	// ((*gateway.Server).Admit); a refusal is answered StUF058 with
	// Retry-After. Default: no limits.
	Admit func(gateway.Principal) (release func(), retryAfter int, err error)
	// ActsFor reports whether p may send for the envelope's zender
	// organisation. Default: the organisation is p's own ID.
	ActsFor func(p gateway.Principal, organisatie string) bool
	// Schema is the compiled envelope schema (LoadSchema).
	Schema *Schema
	// Refs remembers referentienummers. Default: NewMemoryRefs.
	Refs Refs
	// Signer, if set, signs every answer (2W-be-S). Default: none (2W-be).
	Signer *Signer
	// Trust says which parties must sign and with which certificate.
	// Default: nobody needs to; signatures are not checked.
	Trust Trust
	// ClockSkew is the tolerance on a signature's Timestamp. Default
	// DefaultClockSkew (60 s).
	ClockSkew time.Duration
	// Organisatie and Applicatie name the switch as zender of its answers.
	// Defaults "KNOOPPUNT" and "Knooppunt".
	Organisatie, Applicatie string
	// Logger gets one line per request (operation, party, code; never
	// payload, BSN or fault details). Default: disabled.
	Logger zerolog.Logger
	// Registerer, if set, receives the handler's metrics.
	Registerer prometheus.Registerer
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Handler is the SOAP endpoint of the StUF-GGk operations ggk_Di01,
// ggk_Du01 and Fo01. It answers a StUF Bv03 (HTTP 200) for an accepted
// message and a SOAP fault with a StUF Fo03 (HTTP 500) for a refused one.
type Handler struct {
	cfg      Config
	verifier Verifier
	requests *prometheus.CounterVec
}

// maxRequestBytes bounds a request: the 25 MB envelope plus room for the
// SOAP and WS-Security headers.
const maxRequestBytes = MaxEnvelopeBytes + 64<<10

// envelopeBounds hold a SOAP request to what StUF-GGk, WS-Security and
// WS-Addressing need before any parser reads it (xsd.Prescan): their
// elements carry a few attributes and the namespace declarations signing
// stacks repeat on each (32 leaves room), names such as
// SecurityTokenReference are under 64 bytes, signatures nest about ten
// deep, and an envelope has tens of elements, its message being base64.
var envelopeBounds = xsd.Bounds{MaxAttributes: 32, MaxName: 64, MaxDepth: 32, MaxElements: 10_000}

// prescanFault is the RIN001 of a request the pre-scan refused: what was
// found and where, never what it said.
func prescanFault(e *xsd.Error) *Fault {
	f := clientFault(CodeEnvelope, "de envelop bevat opmaak die niet is toegestaan ("+e.Code+")")
	if len(e.Violations) > 0 {
		v := e.Violations[0]
		f.Details = fmt.Sprintf("regel %d kolom %d: %s", v.Line, v.Column, v.Redacted)
	}
	return f
}

// NewHandler checks cfg and returns the endpoint.
func NewHandler(cfg Config) (*Handler, error) {
	if cfg.Pipeline == nil || cfg.Authenticate == nil || cfg.Schema == nil {
		return nil, errors.New("stuf: Config needs Pipeline, Authenticate and Schema")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Refs == nil {
		cfg.Refs = NewMemoryRefs(0, cfg.Now)
	}
	if cfg.ActsFor == nil {
		cfg.ActsFor = func(p gateway.Principal, org string) bool { return p.ID == org }
	}
	if cfg.Organisatie == "" {
		cfg.Organisatie = "KNOOPPUNT"
	}
	if cfg.Applicatie == "" {
		cfg.Applicatie = "Knooppunt"
	}
	h := &Handler{
		cfg:      cfg,
		verifier: Verifier{Now: cfg.Now, ClockSkew: cfg.ClockSkew, Replay: NewReplayCache(0)},
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "knooppunt_stuf_requests_total",
			Help: "StUF-GGk SOAP requests by operation and outcome (bv03 or the fault code).",
		}, []string{"operation", "outcome"}),
	}
	if cfg.Registerer != nil {
		if err := cfg.Registerer.Register(h.requests); err != nil {
			return nil, fmt.Errorf("registering stuf metrics: %w", err)
		}
	}
	return h, nil
}

// request is what one call learns, for its answer and log line.
type request struct {
	op        string
	principal gateway.Principal
	zender    Party
	ref       string
	messageID string
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := h.cfg.Now()
	rq := &request{op: "unknown"}
	answer, fault := h.serve(w, r, rq)
	outcome := "bv03"
	status := http.StatusOK
	if fault != nil {
		outcome = fault.Code
		status = http.StatusInternalServerError // SOAP 1.1 faults go with 500
		fo := &Fo01{
			Zender:           Party{Organisatie: h.cfg.Organisatie, Applicatie: h.cfg.Applicatie},
			Ontvanger:        rq.zender,
			Referentienummer: NewUUID(),
			TijdstipBericht:  Tijdstip(h.cfg.Now()),
			CrossRefnummer:   rq.ref,
			Fault:            *fault,
		}
		if fo.Ontvanger.Applicatie == "" {
			fo.Ontvanger.Applicatie = "onbekend"
		}
		var err error
		answer, err = buildFault(fo, Addressing{Action: "http://www.egem.nl/StUF/StUF0301/Fo03"}, h.cfg.Signer, h.cfg.Now())
		if err != nil {
			h.cfg.Logger.Error().Err(err).Msg("building SOAP fault")
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
	}
	h.requests.WithLabelValues(rq.op, outcome).Inc()
	ev := h.cfg.Logger.Info()
	if fault != nil && fault.Code == CodeServer {
		ev = h.cfg.Logger.Warn()
	}
	ev.Str("operation", rq.op).Str("party", rq.principal.ID).Str("outcome", outcome).
		Str("message_id", rq.messageID).Int64("duration_ms", h.cfg.Now().Sub(start).Milliseconds()).Msg("stuf")
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(status)
	w.Write(answer)
}

// serve handles one request; it returns the answer or a fault.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, rq *request) ([]byte, *Fault) {
	if r.Method != http.MethodPost {
		return nil, clientFault(CodeEnvelope, "alleen POST is toegestaan")
	}
	p, err := h.cfg.Authenticate(r)
	if err != nil {
		return nil, clientFault(CodeNotAuthorised, "organisatie is niet geauthenticeerd")
	}
	rq.principal = p
	if h.cfg.Admit != nil {
		release, retry, err := h.cfg.Admit(p)
		if err != nil {
			w.Header().Set("Retry-After", strconv.Itoa(max(retry, 1)))
			return nil, h.faultOf(err)
		}
		defer release()
	}
	if f := soapContentType(r.Header.Get("Content-Type")); f != nil {
		return nil, f
	}
	if r.ContentLength > maxRequestBytes {
		return nil, tooLargeFault()
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, tooLargeFault()
		}
		return nil, clientFault(CodeEnvelope, "het verzoek is niet volledig gelezen")
	}
	if f := checkEncoding(body); f != nil {
		return nil, f
	}
	if e := xsd.Prescan(body, envelopeBounds); e != nil {
		return nil, prescanFault(e)
	}
	if err := h.cfg.Schema.validate(body); err != nil {
		var f *Fault
		if errors.As(err, &f) {
			return nil, f
		}
		return nil, &Fault{Code: CodeServer, Place: PlaceServer, Description: "de envelop kon niet worden gecontroleerd; probeer het later opnieuw"}
	}
	if err := VerifyParty(h.verifier, h.cfg.Trust, p.ID, body); err != nil {
		var f *Fault
		errors.As(err, &f)
		return nil, f
	}
	req, err := parseSOAP(body)
	if err != nil {
		return nil, clientFault(CodeEnvelope, "het SOAP-bericht is niet leesbaar")
	}
	action := strings.Trim(r.Header.Get("SOAPAction"), `"`)
	var x *xmlEnvelope
	switch {
	case req.Body.Di01 != nil:
		rq.op, x = "ggk_Di01", req.Body.Di01
		if action != "" && action != ActionDi01 {
			return nil, clientFault(CodeEnvelope, "SOAPAction past niet bij ggk_Di01")
		}
	case req.Body.Du01 != nil:
		rq.op, x = "ggk_Du01", req.Body.Du01
		if action != "" && action != ActionDu01 {
			return nil, clientFault(CodeEnvelope, "SOAPAction past niet bij ggk_Du01")
		}
	case req.Body.Fo01 != nil:
		rq.op = "Fo01"
		return h.fo01(r.Context(), req, rq)
	default:
		return nil, clientFault(CodeEnvelope, "de body bevat geen ggk_Di01, ggk_Du01 of Fo01")
	}
	rq.zender, rq.ref = x.Stuurgegevens.Zender, x.Stuurgegevens.Referentienummer
	env, err := envelopeOf(x)
	if err != nil {
		var f *Fault
		errors.As(err, &f)
		return nil, f
	}
	if f := h.receive(r.Context(), env, rq); f != nil {
		return nil, f
	}
	ans, err := Build(Addressing{Action: ActionBv03, RelatesTo: req.Header.MessageID}, marshalBv03(
		Party{Organisatie: h.cfg.Organisatie, Applicatie: h.cfg.Applicatie}, env.Zender,
		NewUUID(), Tijdstip(h.cfg.Now()), env.Referentienummer), h.cfg.Signer, h.cfg.Now())
	if err != nil {
		h.cfg.Logger.Error().Err(err).Msg("building Bv03")
		return nil, &Fault{Code: CodeServer, Place: PlaceServer, Description: "het antwoord kon niet worden gemaakt; het bericht is wel ontvangen"}
	}
	return ans, nil
}

// ActionBv03 is the WS-Addressing action of the acknowledgement.
const ActionBv03 = "http://www.egem.nl/StUF/StUF0301/Bv03"

// receive checks a Di01 or Du01 and hands its payload to the pipeline.
func (h *Handler) receive(ctx context.Context, env *Envelope, rq *request) *Fault {
	if !IsUUIDv4(env.Referentienummer) {
		return clientFault(CodeUUID, "opgegeven referentienummer is geen geldig UUID versie 4")
	}
	if env.Berichtcode == "Du01" && !IsUUIDv4(env.CrossRefnummer) {
		return clientFault(CodeUUID, "opgegeven crossRefnummer is geen geldig UUID versie 4")
	}
	if !h.cfg.ActsFor(rq.principal, env.Zender.Organisatie) {
		return clientFault(CodeNotAuthorised, "organisatie is niet geautoriseerd om voor de zender te verzenden")
	}
	if f := h.checkStuurgegevens(env.Ontvanger, env.TijdstipBericht); f != nil {
		return f
	}
	soort, ok := bericht.Lookup(env.Functie)
	if !ok {
		return clientFault(CodeFunctie, "functie is geen berichtsoort van iWmo of iJw")
	}
	if soort.Answers() != (env.Berichtcode == "Du01") {
		return clientFault(CodeFunctie, "combinatie berichtcode en functie is niet toegestaan")
	}
	if env.Berichtcode == "Du01" {
		if _, ok, err := h.cfg.Refs.Di01(ctx, env.CrossRefnummer); err != nil {
			return h.serverFault("looking up crossRefnummer", err)
		} else if !ok {
			return clientFault(CodeUnknownCrossRef, "crossRefnummer verwijst niet naar een eerder Di01-bericht")
		}
	}
	claim, err := h.cfg.Refs.Claim(ctx, env.Zender.Organisatie, env.Referentienummer, sha256.Sum256(env.Payload))
	if err != nil {
		return h.serverFault("claiming referentienummer", err)
	}
	if claim == ClaimTaken {
		return clientFault(CodeNotUnique, "combinatie zender en referentienummer is niet uniek")
	}
	check := func(hd bericht.Header) error {
		if hd.Soort.Name != env.Functie {
			return refusal(clientFault(CodeFunctie, "functie "+env.Functie+" is niet de berichtsoort van het bericht ("+hd.Soort.Name+")"))
		}
		if hd.Recipient() != env.Ontvanger.Organisatie {
			return refusal(clientFault(CodeAddressee, "de ontvangende organisatie van de envelop is niet de ontvanger in het bericht"))
		}
		return nil
	}
	a, err := h.cfg.Pipeline.Ingest(ctx, rq.principal, env.Payload, check)
	if err != nil {
		if claim == ClaimNew {
			if rerr := h.cfg.Refs.Release(context.WithoutCancel(ctx), env.Zender.Organisatie, env.Referentienummer); rerr != nil {
				h.cfg.Logger.Error().Err(rerr).Msg("releasing referentienummer")
			}
		}
		return h.faultOf(err)
	}
	rq.messageID = a.ID
	if env.Berichtcode == "Di01" {
		// The message is stored; a failure here only costs the Du01 to it.
		if err := recordDi01(context.WithoutCancel(ctx), h.cfg.Refs, env.Referentienummer, env.Ontvanger.Organisatie, a.ID); err != nil {
			h.cfg.Logger.Error().Err(err).Str("message_id", a.ID).Msg("recording Di01 referentienummer")
		}
	}
	return nil
}

// fo01 accepts an error message from a party about a Di01 the switch
// received or pushed (its crossRefnummer, section 3.1): acknowledged and
// logged (code, place and crossRefnummer; never the description).
func (h *Handler) fo01(ctx context.Context, req *soapRequest, rq *request) ([]byte, *Fault) {
	fo := req.Body.Fo01
	rq.zender, rq.ref = fo.Stuurgegevens.Zender, fo.Stuurgegevens.Referentienummer
	if !IsUUIDv4(fo.Stuurgegevens.Referentienummer) || !IsUUIDv4(fo.Stuurgegevens.CrossRefnummer) {
		return nil, clientFault(CodeUUID, "opgegeven (cross)referentienummer is geen geldig UUID versie 4")
	}
	if !h.cfg.ActsFor(rq.principal, fo.Stuurgegevens.Zender.Organisatie) {
		return nil, clientFault(CodeNotAuthorised, "organisatie is niet geautoriseerd om voor de zender te verzenden")
	}
	if f := h.checkStuurgegevens(fo.Stuurgegevens.Ontvanger, fo.Stuurgegevens.TijdstipBericht); f != nil {
		return nil, f
	}
	if _, ok, err := h.cfg.Refs.Di01(ctx, fo.Stuurgegevens.CrossRefnummer); err != nil {
		return nil, h.serverFault("looking up crossRefnummer", err)
	} else if !ok {
		return nil, clientFault(CodeUnknownCrossRef, "crossRefnummer verwijst niet naar een Di01-bericht dat het knooppunt ontving of verstuurde")
	}
	h.cfg.Logger.Warn().Str("party", rq.principal.ID).Str("fo01_code", truncate(fo.Body.Code, 7)).
		Str("fo01_place", fo.Body.Plek).Str("cross_ref", fo.Stuurgegevens.CrossRefnummer).Msg("Fo01 received")
	ans, err := Build(Addressing{Action: ActionBv03, RelatesTo: req.Header.MessageID}, marshalBv03(
		Party{Organisatie: h.cfg.Organisatie, Applicatie: h.cfg.Applicatie}, fo.Stuurgegevens.Zender,
		NewUUID(), Tijdstip(h.cfg.Now()), fo.Stuurgegevens.Referentienummer), h.cfg.Signer, h.cfg.Now())
	if err != nil {
		return nil, h.serverFault("building Bv03", err)
	}
	return ans, nil
}

// ApplicatieGGk is the fixed ontvanger/applicatie of every Di01, Du01 and
// Fo01 sent to the chain (sections 3.1 to 3.3).
const ApplicatieGGk = "GGk"

// Bounds on an envelope's tijdstipBericht, the time the sender made it.
// StUF tijdstippen carry no time zone, so the future bound leaves room for
// a sender's local time beside the switch's clock; the past bound is how
// long the switch remembers referentienummers (DefaultRefsRetention): an
// envelope older than that cannot be recognised as a resend.
const (
	MaxTijdstipAhead = 24 * time.Hour
	MaxTijdstipAge   = DefaultRefsRetention
)

// checkStuurgegevens checks what the schema cannot: the fixed
// ontvanger/applicatie and a tijdstipBericht that is a real moment near now.
func (h *Handler) checkStuurgegevens(ontvanger Party, tijdstip string) *Fault {
	if ontvanger.Applicatie != ApplicatieGGk {
		return clientFault(CodeEnvelope, "ontvanger/applicatie moet de vaste waarde GGk zijn")
	}
	t, err := ParseTijdstip(tijdstip)
	if err != nil {
		return clientFault(CodeEnvelope, "tijdstipBericht is geen geldig tijdstip (JJJJMMDDUUMMSSmmm)")
	}
	now := h.cfg.Now()
	if t.After(now.Add(MaxTijdstipAhead)) || t.Before(now.Add(-MaxTijdstipAge)) {
		return clientFault(CodeEnvelope, "tijdstipBericht ligt te ver in de toekomst of het verleden; maak de envelop opnieuw")
	}
	return nil
}

// tooLargeFault is IB007, whose place the chain's error list gives as
// server.
func tooLargeFault() *Fault {
	return &Fault{Code: CodeTooLarge, Place: PlaceServer, Description: "bericht is te groot: de envelop mag hoogstens 25 MB zijn"}
}

// refusal wraps an envelope check's fault for the pipeline, so its metrics
// count the chain's code; faultOf finds the fault again.
func refusal(f *Fault) error {
	return &gateway.Error{Kind: gateway.KindInvalid, Code: f.Code, Message: f.Description, Err: f}
}

func (h *Handler) serverFault(what string, err error) *Fault {
	h.cfg.Logger.Error().Err(err).Msg(what)
	return &Fault{Code: CodeServer, Place: PlaceServer, Description: "het bericht kon nu niet worden verwerkt; verstuur het later opnieuw"}
}

// faultOf translates a refusal of the pipeline into the chain's codes; the
// gateway's own code and violations go to details.
func (h *Handler) faultOf(err error) *Fault {
	var f *Fault
	if errors.As(err, &f) {
		return f
	}
	var ge *gateway.Error
	if !errors.As(err, &ge) {
		return h.serverFault("ingest", err)
	}
	out := &Fault{Place: PlaceClient, Description: ge.Message, Details: ge.Code}
	for _, v := range ge.Violations {
		out.Details += fmt.Sprintf("; regel %d kolom %d: %s", v.Line, v.Column, v.Message)
	}
	switch {
	case ge.Code == "too-large" || ge.Kind == gateway.KindTooLarge:
		out.Code, out.Place = CodeTooLarge, PlaceServer
	case ge.Code == "wrong-direction":
		out.Code = CodeFunctieOrganisatie
	case ge.Code == "unknown-recipient" || ge.Code == "recipient-inactive":
		out.Code = CodeUnknownRecipient
	case ge.Code == "release-inactive" || ge.Code == "retour-without-heen":
		out.Code = CodeNoRoute
	case ge.Kind == gateway.KindConflict:
		out.Code = CodeIdentificatie
	case ge.Kind == gateway.KindUnauthenticated || ge.Kind == gateway.KindForbidden:
		out.Code = CodeNotAuthorised
	case ge.Kind == gateway.KindMalformed || ge.Kind == gateway.KindInvalid || ge.Kind == gateway.KindUnroutable:
		out.Code = CodePayload
	default:
		if ge.Kind == gateway.KindInternal {
			h.cfg.Logger.Error().Err(ge.Err).Msg("ingest")
		}
		return &Fault{Code: CodeServer, Place: PlaceServer, Description: "het bericht kon nu niet worden verwerkt; verstuur het later opnieuw", Details: ge.Code}
	}
	return out
}

// soapContentType accepts SOAP 1.1's text/xml (and application/xml) in
// UTF-8.
func soapContentType(ct string) *Fault {
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || (mt != "text/xml" && mt != "application/xml") {
		return clientFault(CodeEnvelope, "Content-Type moet text/xml zijn (SOAP 1.1)")
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return clientFault(CodeEnvelope, "de tekenset moet UTF-8 zijn")
	}
	return nil
}

// checkEncoding refuses a BOM, invalid UTF-8 and an XML declaration naming
// another encoding.
func checkEncoding(b []byte) *Fault {
	if bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}) {
		return clientFault(CodeEnvelope, "het bericht begint met een byte order mark; UTF-8 zonder BOM is vereist")
	}
	if !utf8.Valid(b) {
		return clientFault(CodeEnvelope, "het bericht is geen geldige UTF-8")
	}
	if bytes.HasPrefix(b, []byte("<?xml")) {
		end := bytes.Index(b, []byte("?>"))
		if end > 0 {
			decl := strings.ToLower(string(b[:end]))
			if i := strings.Index(decl, "encoding="); i >= 0 {
				v := strings.Trim(decl[i+len("encoding="):], `"' `)
				if j := strings.IndexAny(v, `"' `); j >= 0 {
					v = v[:j]
				}
				if v != "utf-8" {
					return clientFault(CodeEnvelope, "de XML-declaratie noemt een andere tekenset dan UTF-8")
				}
			}
		}
	}
	return nil
}
