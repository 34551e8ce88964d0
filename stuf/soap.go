package stuf

import (
	"bytes"
	"crypto/sha256"
	"encoding/xml"
	"errors"
	"fmt"
	"time"
)

// Addressing holds the WS-Addressing headers of a SOAP message (Digikoppeling
// WUS): Action names the operation, MessageID is unique per message,
// RelatesTo is the MessageID a response answers.
type Addressing struct {
	Action    string
	MessageID string
	To        string
	RelatesTo string
}

// Build wraps body (one XML element) in a SOAP 1.1 envelope with the
// WS-Addressing headers of a. With a signer, the message carries a
// wsse:Security header signing Body, the addressing headers and a Timestamp
// (2W-be-S); without one (nil) it is plain (2W-be). A zero MessageID gets a
// fresh urn:uuid.
func Build(a Addressing, body []byte, signer *Signer, now time.Time) ([]byte, error) {
	if a.MessageID == "" {
		a.MessageID = "urn:uuid:" + NewUUID()
	}
	if signer == nil {
		return buildPlain(a, body), nil
	}
	return signer.build(a, body, now)
}

func buildPlain(a Addressing, body []byte) []byte {
	var b bytes.Buffer
	b.Grow(len(body) + 1024)
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>`)
	b.WriteString(`<soap:Envelope xmlns:soap="` + NSSOAP + `" xmlns:wsa="` + NSWSA + `"><soap:Header>`)
	writeAddressing(&b, a, false)
	b.WriteString(`</soap:Header><soap:Body>`)
	b.Write(body)
	b.WriteString(`</soap:Body></soap:Envelope>`)
	return b.Bytes()
}

// writeAddressing writes the wsa headers; with ids, each carries a wsu:Id
// for the signature to refer to.
func writeAddressing(b *bytes.Buffer, a Addressing, ids bool) {
	h := func(name, id, text string) {
		if text == "" {
			return
		}
		b.WriteString(`<wsa:` + name)
		if ids {
			b.WriteString(` wsu:Id="` + id + `"`)
		}
		b.WriteString(`>`)
		xml.EscapeText(b, []byte(text))
		b.WriteString(`</wsa:` + name + `>`)
	}
	h("Action", "id-action", a.Action)
	h("MessageID", "id-messageid", a.MessageID)
	h("To", "id-to", a.To)
	h("RelatesTo", "id-relatesto", a.RelatesTo)
}

// soapRequest is a SOAP request as the handler reads it.
type soapRequest struct {
	XMLName xml.Name `xml:"http://schemas.xmlsoap.org/soap/envelope/ Envelope"`
	Header  struct {
		Action    string    `xml:"http://www.w3.org/2005/08/addressing Action"`
		MessageID string    `xml:"http://www.w3.org/2005/08/addressing MessageID"`
		To        string    `xml:"http://www.w3.org/2005/08/addressing To"`
		Security  *struct{} `xml:"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd Security"`
	} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Header"`
	Body struct {
		Di01 *xmlEnvelope `xml:"http://www.stufstandaarden.nl/sectormodel/ggk/0210 envelopHeenbericht-ggk_Di01"`
		Du01 *xmlEnvelope `xml:"http://www.stufstandaarden.nl/sectormodel/ggk/0210 envelopRetourbericht-ggk_Du01"`
		Fo01 *xmlFout     `xml:"http://www.egem.nl/StUF/StUF0301 Fo01Bericht"`
		Bv03 *struct {
			Stuurgegevens xmlStuurgegevens `xml:"stuurgegevens"`
		} `xml:"http://www.egem.nl/StUF/StUF0301 Bv03Bericht"`
		Fault *struct {
			Detail struct {
				Fo03 *xmlFout `xml:"http://www.egem.nl/StUF/StUF0301 Fo03Bericht"`
			} `xml:"detail"`
		} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Fault"`
	} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Body"`
}

// parseSOAP reads a SOAP message that passed the schema (or, for answers
// the switch receives, any SOAP message).
func parseSOAP(msg []byte) (*soapRequest, error) {
	var r soapRequest
	if err := xml.Unmarshal(msg, &r); err != nil {
		return nil, fmt.Errorf("reading SOAP message: %w", err)
	}
	return &r, nil
}

// envelopeOf turns the wire form of a Di01 or Du01 into an Envelope.
func envelopeOf(x *xmlEnvelope) (*Envelope, error) {
	payload, err := decodeBase64(x.Parameters.Bericht.Data)
	if err != nil {
		return nil, &Fault{Code: CodeEnvelope, Place: PlaceClient, Description: "parameters/bericht is geen geldige base64"}
	}
	s, p := x.Stuurgegevens, x.Parameters
	return &Envelope{
		Berichtcode: s.Berichtcode, Zender: s.Zender, Ontvanger: s.Ontvanger,
		Referentienummer: s.Referentienummer, TijdstipBericht: s.TijdstipBericht,
		CrossRefnummer: s.CrossRefnummer, Functie: s.Functie,
		ReferentienummerBericht: p.ReferentienummerBericht, CrossRefnummerBericht: p.CrossRefnummerBericht,
		ApplicatieVersie: p.ApplicatieVersie, ApplicatieSubversie: p.ApplicatieSubversie,
		FunctieVersie: p.FunctieVersie, FunctieSubversie: p.FunctieSubversie,
		Bestandsnaam: p.Bericht.Bestandsnaam, Payload: payload,
	}, nil
}

// buildFault builds the answer to a refused request: a SOAP 1.1 fault
// whose detail holds the StUF Fo03.
func buildFault(fo *Fo01, a Addressing, signer *Signer, now time.Time) ([]byte, error) {
	faultcode := "soap:Client"
	if fo.Fault.Place == PlaceServer {
		faultcode = "soap:Server"
	}
	var b bytes.Buffer
	b.WriteString(`<soap:Fault xmlns:soap="` + NSSOAP + `"><faultcode>` + faultcode + `</faultcode><faultstring>`)
	xml.EscapeText(&b, []byte(fo.Fault.Code+": "+fo.Fault.Description))
	b.WriteString(`</faultstring><detail>`)
	b.Write(marshalFout("Fo03", fo))
	b.WriteString(`</detail></soap:Fault>`)
	return Build(a, b.Bytes(), signer, now)
}

// ReadAnswer reads the answer of a SOAP endpoint the switch delivered to:
// nil for a Bv03, the fault for a SOAP fault (with its Fo03 when present),
// an error when the answer is neither.
func ReadAnswer(msg []byte) (*Fault, error) {
	r, err := parseSOAP(msg)
	if err != nil {
		return nil, err
	}
	switch {
	case r.Body.Bv03 != nil:
		return nil, nil
	case r.Body.Fault != nil:
		f := &Fault{Code: "soap-fault", Place: PlaceServer, Description: "SOAP fault"}
		if fo := r.Body.Fault.Detail.Fo03; fo != nil {
			f = &Fault{Code: fo.Body.Code, Place: fo.Body.Plek, Description: fo.Body.Omschrijving}
		}
		return f, nil
	}
	return nil, errors.New("the answer holds neither a Bv03 nor a fault")
}

// RefFor derives a stable UUID version 4 from an id (such as a store
// message id), so that every resend of one message carries the same
// referentienummer and the receiver can recognise it.
func RefFor(id string) string {
	sum := sha256.Sum256([]byte("knooppunt-referentienummer:" + id))
	return formatUUID(sum[:16])
}

// ReadEnvelope reads the Di01 or Du01 of a SOAP message, as the receiving
// side of a push (a gemeente's endpoint, a simulator, a conformance test)
// does. It does not check the schema; Schema.Validate does.
func ReadEnvelope(msg []byte) (*Envelope, error) {
	r, err := parseSOAP(msg)
	if err != nil {
		return nil, err
	}
	switch {
	case r.Body.Di01 != nil:
		return envelopeOf(r.Body.Di01)
	case r.Body.Du01 != nil:
		return envelopeOf(r.Body.Du01)
	}
	return nil, errors.New("the SOAP body holds neither a Di01 nor a Du01")
}

// Acknowledge builds the Bv03 answer from zender to the sender of env, for
// the receiving side of a push.
func Acknowledge(zender Party, env *Envelope, signer *Signer, now time.Time) ([]byte, error) {
	return Build(Addressing{Action: ActionBv03}, marshalBv03(zender, env.Zender, NewUUID(), Tijdstip(now), env.Referentienummer), signer, now)
}
