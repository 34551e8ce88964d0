package gateway

import (
	"errors"
	"fmt"
	"net/http"
)

// Kind classifies a refusal; it decides the HTTP status. Codes are finer
// and stable; a Kind is how the gateway treats a whole family of them.
type Kind int

// The kinds of refusal, with the status each is answered with.
const (
	KindInternal         Kind = iota // 500: a fault of the switch, logged with its cause
	KindMalformed                    // 400: not a readable message or request (BOM, not UTF-8, DOCTYPE, not XML, bad parameter)
	KindUnauthenticated              // 401: no or unknown credentials
	KindForbidden                    // 403: authenticated, but not allowed (spoofing, wrong direction)
	KindNotFound                     // 404: no such resource for this caller
	KindMethodNotAllowed             // 405
	KindConflict                     // 409: same Identificatie, other content
	KindTooLarge                     // 413: over the body limit
	KindUnsupportedMedia             // 415: wrong Content-Type
	KindInvalid                      // 422: fails the XSD; Violations say where
	KindUnroutable                   // 422: unknown recipient, retour without heenbericht, inactive release
	KindUnavailable                  // 503: not ready or shutting down; retry later
	KindTooManyRequests              // 429: over a per-party limit; Retry-After says when to retry
)

// Status returns the HTTP status a refusal of kind k is answered with.
func (k Kind) Status() int {
	switch k {
	case KindMalformed:
		return http.StatusBadRequest
	case KindUnauthenticated:
		return http.StatusUnauthorized
	case KindForbidden:
		return http.StatusForbidden
	case KindNotFound:
		return http.StatusNotFound
	case KindMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case KindConflict:
		return http.StatusConflict
	case KindTooLarge:
		return http.StatusRequestEntityTooLarge
	case KindUnsupportedMedia:
		return http.StatusUnsupportedMediaType
	case KindInvalid, KindUnroutable:
		return http.StatusUnprocessableEntity
	case KindUnavailable:
		return http.StatusServiceUnavailable
	case KindTooManyRequests:
		return http.StatusTooManyRequests
	default:
		return http.StatusInternalServerError
	}
}

// Violation is one place where a message breaks its schema.
type Violation struct {
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Message string `json:"message"`
}

// Error is a refusal with a stable code: what every handler and port
// returns to say no. Its JSON form is the body of every error response.
type Error struct {
	Kind Kind `json:"-"`
	// Code is stable and documented in docs/api.md: clients switch on it.
	Code string `json:"code"`
	// Message explains the refusal to a person. It never contains a BSN,
	// a name or payload text; values from the message appear only in
	// Violations, which are not logged.
	Message string `json:"message"`
	// ID is the original message id of a duplicate or conflict.
	ID         string      `json:"id,omitempty"`
	Violations []Violation `json:"violations,omitempty"`
	// Fields names the request fields at fault and what is wrong with
	// each, for faces whose error body keys errors by field (the VSP
	// face's problem details); the message says the same in words.
	Fields map[string][]string `json:"-"`
	// RetryAfter is the Retry-After of a 503 or 429 in seconds; a 503
	// without one says 1.
	RetryAfter int `json:"-"`
	// Err is the cause, logged for KindInternal, never sent.
	Err error `json:"-"`
}

// Error implements error.
func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return e.Code + ": " + e.Message
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Codes of the refusals the gateway makes itself. The validator, router and
// store bring codes of their own (listed in docs/api.md).
const (
	CodeInternal             = "internal"
	CodeUnauthenticated      = "unauthenticated"
	CodeAmbiguousCredentials = "ambiguous-credentials"
	CodeForbidden            = "forbidden"
	CodeNotFound             = "not-found"
	CodeMethodNotAllowed     = "method-not-allowed"
	CodeBodyTooLarge         = "body-too-large"
	CodeUnsupportedMedia     = "unsupported-media-type"
	CodeBadRequest           = "bad-request"
	CodeEmpty                = "empty"
	CodeBodyUnreadable       = "body-unreadable"
	CodeDuplicateConflict    = "duplicate-conflict"
	CodeBatchNotZip          = "batch-not-zip"
	CodeBatchTooMany         = "batch-too-many-messages"
	CodeBatchTooLarge        = "batch-too-large"
	CodeBatchEntryUnreadable = "batch-entry-unreadable"
	CodeZipEntryEncrypted    = "zip-entry-encrypted" // one entry of a batch; the others go on
	CodeZipEntryMethod       = "zip-entry-method"    // one entry of a batch; the others go on
	CodeNotReady             = "not-ready"
	CodeShuttingDown         = "shutting-down"
	CodeCancelled            = "cancelled"
	CodeStoreUnavailable     = "store-unavailable"
	// CodeTooManyAanleveringen refuses a 305 or 307 to a gemeente with the
	// aanleveringen check whose product lines are more than the store's
	// ledger takes in one write.
	CodeTooManyAanleveringen = "too-many-aanleveringen"
)

// errorf builds an *Error of kind with a code and a formatted message.
func errorf(kind Kind, code, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Message: fmt.Sprintf(format, args...)}
}

// asError turns any error into the *Error the client sees: itself when it
// is one (anywhere in the chain), else an internal error carrying err as
// its cause.
func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Kind: KindInternal, Code: CodeInternal, Message: "internal error; the request was not completed", Err: err}
}
