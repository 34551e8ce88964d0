// Package stuf is the gemeente side's front door: the StUF-GGk 2.1 envelope
// (Di01 for a heenbericht, Du01 for a retourbericht, Fo01 for an error) over
// SOAP 1.1, with WS-Security signing as in the Digikoppeling WUS profile
// 2W-be-S.
//
// Handler is an http.Handler implementing the operations of the WSDL
// (ggk_Di01, ggk_Du01, Fo01), answering Bv03 on success and a SOAP fault
// carrying a StUF Fo03 on refusal. It checks the envelope (the project's own
// envelope schema in schema/, referentienummer and crossRefnummer UUID v4,
// (zender, referentienummer) unique, functie against the payload's
// berichtsoort, the receiving organisation against the payload's Ontvanger,
// ontvanger/applicatie GGk, a tijdstipBericht near now, a Du01's or Fo01's
// crossRefnummer against an earlier Di01, at most 25 MB, UTF-8 without BOM),
// decodes the base64 payload and hands it to the gateway's pipeline —
// the same validation, routing and store as POST /v1/berichten. Refusals carry
// the chain's error codes (Codes) with place and description.
//
// Signer signs outgoing SOAP messages (Body, WS-Addressing headers and
// Timestamp, each its own Reference; exclusive C14N; SHA-256; RSA or ECDSA)
// and Verify checks incoming ones against the exact certificate a party is
// registered with, in the forms WSS4J/CXF, .NET WCF and zeep sign in
// (exclusive C14N with inclusive prefix lists honoured), the Timestamp
// within a clock skew; with a ReplayCache, as the Handler has, a request
// accepted before is refused while its Timestamp lasts. Envelope, Di01,
// Du01 and Fo01 build the envelopes the switch sends, for push delivery
// (package delivery).
package stuf
