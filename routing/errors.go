package routing

import (
	"fmt"
	"net/http"
)

// Code is the stable identifier of a routing refusal. The gateway puts it
// in its JSON error body; clients may branch on it. Codes never change
// meaning once released.
type Code string

// The codes Route returns. README.md lists them with the HTTP status the
// gateway uses (see Code.Status).
const (
	// CodeNotAParty: the principal is an operator, auditor or NZa and sends
	// no messages.
	CodeNotAParty Code = "not-a-party"
	// CodeSenderInactive: the authenticated party is inactive in the
	// registry.
	CodeSenderInactive Code = "sender-inactive"
	// CodeBadHeader: the header lacks what routing needs (berichtsoort,
	// Afzender, Ontvanger, Identificatie).
	CodeBadHeader Code = "bad-header"
	// CodeWrongDirection: the berichtsoort is sent by the other role (an
	// aanbieder sending a 301, a gemeente sending a 305).
	CodeWrongDirection Code = "wrong-direction"
	// CodeSenderMismatch: the header names a sender the principal is not
	// and does not act for (spoofing).
	CodeSenderMismatch Code = "sender-mismatch"
	// CodeReleaseInactive: the standard and release of the message are not
	// active in the registry, or not for the sender or recipient.
	CodeReleaseInactive Code = "release-inactive"
	// CodeUnknownRecipient: no party with the recipient's code and role.
	CodeUnknownRecipient Code = "unknown-recipient"
	// CodeRecipientInactive: the recipient, or the samenwerkingsverband
	// that handles it, is inactive.
	CodeRecipientInactive Code = "recipient-inactive"
	// CodeRetourWithoutHeen: a retourbericht or declaratie-antwoord whose
	// heenbericht the switch does not know, or which was not sent to the
	// party that answers.
	CodeRetourWithoutHeen Code = "retour-without-heen"
)

// Status is the HTTP status the gateway answers with for the code: 403 when
// the principal may not send this, 422 when the message cannot be routed.
func (c Code) Status() int {
	switch c {
	case CodeNotAParty, CodeSenderInactive, CodeSenderMismatch:
		return http.StatusForbidden
	default:
		return http.StatusUnprocessableEntity
	}
}

// Error is a routing refusal: a stable Code and a message for people. The
// message names berichtsoorten, roles and party codes, never content.
type Error struct {
	Code Code
	Msg  string
}

// Error is "routing: <code>: <message>".
func (e *Error) Error() string { return fmt.Sprintf("routing: %s: %s", e.Code, e.Msg) }

// Is makes errors.Is(err, &Error{Code: c}) match any *Error with code c.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && (t.Msg == "" || t.Msg == e.Msg)
}

func refuse(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}
