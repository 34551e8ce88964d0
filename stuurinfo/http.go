package stuurinfo

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/rs/zerolog"
)

// Principal is an authenticated caller as stuurinfo sees it.
type Principal struct {
	// ID is the party code (a gemeente's CBS code, a samenwerkingsverband)
	// or the operator's id.
	ID string
	// Operator callers see every row.
	Operator bool
	// NZa callers (the Nederlandse Zorgautoriteit) may read the NZa export
	// only.
	NZa bool
}

// MailboxStatus is what the dashboard shows of the store.
type MailboxStatus struct {
	// Open counts messages in mailboxes not yet confirmed; Quarantined
	// those delivered too often without confirmation.
	Open, Quarantined int64
}

// HandlerConfig configures Handler.
type HandlerConfig struct {
	// Aggregates are the rows served. Required.
	Aggregates *Aggregates
	// Authenticate finds the caller of a request (the gateway's mutual
	// TLS or bearer token, through the registry). Required.
	Authenticate func(r *http.Request) (Principal, bool)
	// GemeentenOf lists the gemeenten whose rows a non-operator may see:
	// its own code, and for a samenwerkingsverband its gemeenten. Default:
	// just p.ID.
	GemeentenOf func(p Principal) []string
	// Mailboxes reports open and quarantined messages for the dashboard:
	// store-wide for an operator. Default: not shown.
	Mailboxes func(p Principal) (MailboxStatus, bool)
	// Location is the time zone of dates. Default Europe/Amsterdam.
	Location *time.Location
	// Now returns the current time. Default time.Now.
	Now func() time.Time
	// Logger receives one line per refused request (code only).
	Logger zerolog.Logger
}

// Handler serves GET /v1/stuurinfo and GET /v1/stuurinfo/nza (operators
// and the NZa), each JSON or, with format=csv, CSV, and GET /dashboard.
// Query parameters: granularity (dag, week, maand), van and tot
// (YYYY-MM-DD, tot exclusive; default the last 90 days), gemeente
// (operators: one gemeente's rows), format (json, csv; anything else is
// 400 bad-format), per (berichtsoort, the default, or productcategorie:
// the figures of product lines per ProductCategorie).
func Handler(cfg HandlerConfig) http.Handler {
	if cfg.GemeentenOf == nil {
		cfg.GemeentenOf = func(p Principal) []string { return []string{p.ID} }
	}
	if cfg.Location == nil {
		cfg.Location = amsterdam()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	h := &handler{cfg: cfg}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/stuurinfo", h.auth(h.rows))
	mux.HandleFunc("GET /v1/stuurinfo/nza", h.auth(h.nza))
	mux.HandleFunc("GET /dashboard", h.auth(h.dashboard))
	return mux
}

type handler struct{ cfg HandlerConfig }

// apiError is the JSON error body, shaped like the gateway's.
type apiError struct {
	status  int
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *apiError) Error() string { return e.Message }

func badRequest(code, msg string) *apiError {
	return &apiError{status: http.StatusBadRequest, Code: code, Message: msg}
}

func (h *handler) auth(next func(http.ResponseWriter, *http.Request, Principal) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, ok := h.cfg.Authenticate(r)
		var err error
		if !ok {
			err = &apiError{status: http.StatusUnauthorized, Code: "unauthenticated", Message: "no valid client certificate or token"}
		} else {
			err = next(w, r, p)
		}
		if err == nil {
			return
		}
		var ae *apiError
		if !errors.As(err, &ae) {
			ae = &apiError{status: http.StatusInternalServerError, Code: "internal", Message: "internal error"}
		}
		h.cfg.Logger.Info().Str("path", r.URL.Path).Str("code", ae.Code).Int("status", ae.status).Msg("stuurinfo request refused")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(ae.status)
		_ = json.NewEncoder(w).Encode(ae)
	}
}

// query reads the common parameters and applies the caller's scope.
func (h *handler) query(r *http.Request, p Principal) (Query, error) {
	v := r.URL.Query()
	g, err := ParseGranularity(v.Get("granularity"))
	if err != nil {
		return Query{}, badRequest("bad-granularity", err.Error())
	}
	q := Query{Granularity: g}
	today := civil(h.cfg.Now().In(h.cfg.Location))
	q.Van, q.Tot = today.AddDate(0, 0, -90), today.AddDate(0, 0, 1)
	for name, t := range map[string]*time.Time{"van": &q.Van, "tot": &q.Tot} {
		if s := v.Get(name); s != "" {
			d, err := time.Parse("2006-01-02", s)
			if err != nil {
				return Query{}, badRequest("bad-date", name+" must be a date YYYY-MM-DD")
			}
			*t = d
		}
	}
	if !q.Tot.After(q.Van) {
		return Query{}, badRequest("bad-date", "tot must lie after van")
	}
	if p.Operator {
		if gm := v.Get("gemeente"); gm != "" {
			q.Gemeenten = []string{gm}
		}
	} else {
		q.Gemeenten = h.cfg.GemeentenOf(p)
		if gm := v.Get("gemeente"); gm != "" {
			if !contains(q.Gemeenten, gm) {
				return Query{}, &apiError{status: http.StatusForbidden, Code: "forbidden", Message: "not your gemeente"}
			}
			q.Gemeenten = []string{gm}
		}
	}
	return q, nil
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// errNZaOnly refuses an NZa caller anything but its export.
var errNZaOnly = &apiError{status: http.StatusForbidden, Code: "forbidden", Message: "the NZa reads /v1/stuurinfo/nza only"}

func (h *handler) rows(w http.ResponseWriter, r *http.Request, p Principal) error {
	if p.NZa {
		return errNZaOnly
	}
	format, err := exportFormat(r)
	if err != nil {
		return err
	}
	q, err := h.query(r, p)
	if err != nil {
		return err
	}
	switch per := r.URL.Query().Get("per"); per {
	case "", "berichtsoort":
	case "productcategorie":
		rows := h.cfg.Aggregates.CategoryRows(q)
		if format == FormatCSV {
			w.Header().Set("Content-Type", "text/csv; charset=utf-8")
			return WriteCategoryCSV(w, rows)
		}
		w.Header().Set("Content-Type", "application/json")
		return WriteCategoryJSON(w, rows)
	default:
		return badRequest("bad-per", "per must be berichtsoort or productcategorie")
	}
	rows := h.cfg.Aggregates.Rows(q)
	if format == FormatCSV {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		return WriteCSV(w, rows)
	}
	w.Header().Set("Content-Type", "application/json")
	return WriteJSON(w, rows)
}

func (h *handler) nza(w http.ResponseWriter, r *http.Request, p Principal) error {
	if !p.Operator && !p.NZa {
		return &apiError{status: http.StatusForbidden, Code: "forbidden", Message: "the NZa export is for operators and the NZa"}
	}
	format, err := exportFormat(r)
	if err != nil {
		return err
	}
	q, err := h.query(r, Principal{Operator: true})
	if err != nil {
		return err
	}
	rows := h.cfg.Aggregates.NZa(q)
	if format == FormatCSV {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		return WriteNZaCSV(w, rows)
	}
	w.Header().Set("Content-Type", "application/json")
	return WriteNZaJSON(w, rows)
}

// exportFormat is the request's format parameter: json (the default) or
// csv.
func exportFormat(r *http.Request) (string, error) {
	format := r.URL.Query().Get("format")
	if format == "" {
		return FormatJSON, nil
	}
	if err := CheckFormat(format); err != nil {
		return "", badRequest("bad-format", "format must be json or csv")
	}
	return format, nil
}
