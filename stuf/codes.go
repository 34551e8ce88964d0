package stuf

// Fault codes. The chain's codes (ISD-keten Foutcodes 2.1) are used where the
// chain has one; the KP codes are the switch's own, for refusals the chain's
// list does not name. Every refusal also carries, in details, the gateway's
// own stable code when the refusal came from the pipeline.
const (
	// CodeEnvelope (RIN001): the SOAP request or the StUF envelope is not
	// readable or does not conform to the envelope schema (also: BOM, not
	// UTF-8, bad base64, unknown operation, an ontvanger/applicatie other
	// than GGk, a tijdstipBericht that is no real moment near now).
	CodeEnvelope = "RIN001"
	// CodePayload (StUF055): the iWmo/iJw message does not conform to its
	// schema (or is not a readable message at all).
	CodePayload = "StUF055"
	// CodeNotAuthorised (IB002): the caller is not authenticated, or may not
	// send for the envelope's zender.
	CodeNotAuthorised = "IB002"
	// CodeTooLarge (IB007): the envelope exceeds 25 MB. Its place is
	// server, as the chain's error list gives it.
	CodeTooLarge = "IB007"
	// CodeUUID (IB009): referentienummer or crossRefnummer is not a UUID
	// version 4.
	CodeUUID = "IB009"
	// CodeNoRoute (IB102): no routing for this organisation and
	// berichtsoort (wrong direction, inactive release, retour without its
	// heenbericht).
	CodeNoRoute = "IB102"
	// CodeUnknownRecipient (IB210): the receiving organisation is unknown.
	CodeUnknownRecipient = "IB210"
	// CodeNotUnique (IB216): zender and referentienummer were used before
	// for another message.
	CodeNotUnique = "IB216"
	// CodeFunctie (IB240): berichtcode and functie do not go together, or
	// functie is not the payload's berichtsoort.
	CodeFunctie = "IB240"
	// CodeAddressee (KP103): the envelope's receiving organisation is not
	// the party the payload is for; the chain's list has no code for it.
	CodeAddressee = "KP103"
	// CodeUnknownCrossRef (KP101): a Du01's or Fo01's crossRefnummer names
	// no Di01 the switch received or sent.
	CodeUnknownCrossRef = "KP101"
	// CodeSignatureMissing (KP201): the party must sign and the request
	// carries no WS-Security signature.
	CodeSignatureMissing = "KP201"
	// CodeSignatureInvalid (KP202): the signature does not verify, does not
	// cover Body, addressing headers and Timestamp, uses another algorithm,
	// or is made with another certificate than the party's.
	CodeSignatureInvalid = "KP202"
	// CodeTimestamp (KP203): the signed Timestamp is not valid now: its
	// Created lies in the future or its end (Expires, at most MaxAge after
	// Created) has passed, beyond the clock skew; or it is unreadable. The
	// sender signs the message anew, or sets its clock right.
	CodeTimestamp = "KP203"
	// CodeReplay (KP204): a request with the same signature or the same
	// wsa:MessageID was accepted before, while its Timestamp is still
	// valid. A resend must be a new SOAP message; its referentienummer may
	// stay the same.
	CodeReplay = "KP204"
	// CodeServer (StUF058): the switch failed or is shutting down; resend
	// later (resends with the same referentienummer are idempotent).
	CodeServer = "StUF058"
)

// Places of a fault (StUF Foutplek).
const (
	PlaceClient = "client"
	PlaceServer = "server"
)

// Fault is a refusal as the chain reports it: a code, the place of the
// fault (client or server) and a description. Details may quote envelope
// values and validator messages for the sender; it is never logged.
type Fault struct {
	Code        string
	Place       string
	Description string
	Details     string
}

// Error implements error with the code and description only.
func (f *Fault) Error() string { return "stuf: " + f.Code + ": " + f.Description }

func clientFault(code, description string) *Fault {
	return &Fault{Code: code, Place: PlaceClient, Description: description}
}

// Codes for refusals of the pipeline that the list above does not cover.
const (
	// CodeFunctieOrganisatie (IB234): the organisation may not send this
	// berichtsoort (the other role sends it).
	CodeFunctieOrganisatie = "IB234"
	// CodeIdentificatie (KP102): the payload's Identificatie was used
	// before by the same sender for another message (TR056).
	CodeIdentificatie = "KP102"
)
