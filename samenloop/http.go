package samenloop

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/rs/zerolog"
)

// MaxRegisterBytes bounds an uploaded register: 300,000 persons take about
// 15 MB.
const MaxRegisterBytes = 256 << 20

// HandlerConfig configures Handler.
type HandlerConfig struct {
	// Engine is the samenloop engine. Required.
	Engine *Engine
	// Authenticate reports whether the request carries a valid credential
	// (ok) and whether it is an operator's. Required.
	Authenticate func(r *http.Request) (operator, ok bool)
	// Logger receives one line per import or run (counts and codes only).
	Logger zerolog.Logger
}

// Handler serves, for operators only:
//
//	POST /v1/samenloop/wlz-register  body: the register CSV; replaces the copy
//	POST /v1/samenloop/run           runs the comparison; answers the Summary
func Handler(cfg HandlerConfig) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/samenloop/wlz-register", operatorOnly(cfg, func(w http.ResponseWriter, r *http.Request) {
		reg, err := ParseRegister(http.MaxBytesReader(w, r.Body, MaxRegisterBytes))
		var ie *ImportError
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &ie):
			cfg.Logger.Info().Int("bad_lines", len(ie.Lines)).Msg("wlz register refused")
			writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"code": CodeRegisterInvalid,
				"message": "the register was refused whole: nothing imported", "lines": ie.Lines})
		case errors.As(err, &mbe):
			writeJSON(w, http.StatusRequestEntityTooLarge, errorBody{"too-large", "the register exceeds 256 MB"})
		case err != nil:
			writeJSON(w, http.StatusBadRequest, errorBody{"bad-request", "the register could not be read"})
		default:
			cfg.Engine.Import(reg)
			cfg.Logger.Info().Int("persons", len(reg)).Msg("wlz register imported")
			writeJSON(w, http.StatusOK, map[string]int{"persons": len(reg)})
		}
	}))
	mux.HandleFunc("POST /v1/samenloop/run", operatorOnly(cfg, func(w http.ResponseWriter, r *http.Request) {
		sum, err := cfg.Engine.Run(r.Context())
		switch {
		case errors.Is(err, ErrNoRegister):
			writeJSON(w, http.StatusConflict, errorBody{"wlz-register-missing", "import a wlz register first"})
		case err != nil:
			cfg.Logger.Warn().Str("code", errCode(err)).Msg("samenloop run failed")
			writeJSON(w, http.StatusInternalServerError, errorBody{"internal", "the comparison did not finish; signals sent are kept and the next run resumes"})
		default:
			writeJSON(w, http.StatusOK, sum)
		}
	}))
	return mux
}

// errorBody is shaped like the gateway's error answers.
type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func operatorOnly(cfg HandlerConfig, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		operator, ok := cfg.Authenticate(r)
		switch {
		case !ok:
			writeJSON(w, http.StatusUnauthorized, errorBody{"unauthenticated", "no valid client certificate or token"})
		case !operator:
			writeJSON(w, http.StatusForbidden, errorBody{"forbidden", "samenloop is for operators"})
		default:
			next(w, r)
		}
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
