package conformance

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/knooppunt/knooppunt/stuf"
)

// The gemeente side: StUF-GGk envelopes posted to the switch's SOAP
// endpoint (docs/stuf.md).
const (
	// FeatureSOAP: the run knows the switch's StUF-GGk SOAP endpoint
	// (Config.SOAPTarget).
	FeatureSOAP = "soap"
	// FeatureSignature: the target requires gemeente SignatureParty to
	// sign its SOAP requests (registry require_signature); in-process it
	// does.
	FeatureSignature = "signature"
)

// SignatureParty is the gemeente the signature cases send as.
const SignatureParty = "0599"

func init() {
	missing[FeatureSOAP] = "needs the switch's StUF-GGk SOAP endpoint: runs in-process, or over --target with --soap-target"
	missing[FeatureSignature] = "needs a target that requires gemeente " + SignatureParty + " to sign its SOAP requests (require_signature in its registry): runs in-process, or enable with --feature signature"
}

// soap is "soap AS OP NAME [options]": the message NAME in a StUF-GGk
// envelope (OP di01 or du01) posted to the SOAP endpoint as party AS.
// The answer's code is "Bv03" or the Fo03 fault's code.
func (cr *caseRun) soap(ctx context.Context, st Step) error {
	m := cr.msgs[st.Args[2]]
	op := st.Args[1]
	env := &stuf.Envelope{
		Zender:          stuf.Party{Organisatie: st.Args[0], Applicatie: "Conformance"},
		Ontvanger:       stuf.Party{Applicatie: stuf.ApplicatieGGk},
		TijdstipBericht: stuf.Tijdstip(cr.cfg.Now()),
		Payload:         m.body,
	}
	action := stuf.ActionDi01
	switch op {
	case "di01":
		env.Berichtcode = "Di01"
	case "du01":
		env.Berichtcode, action = "Du01", stuf.ActionDu01
	default:
		return fmt.Errorf("soap: operation %q: want di01 or du01", op)
	}
	if m.soort.Name != "" {
		env.Functie = m.soort.Name
	}
	if m.sample != nil {
		env.Ontvanger.Organisatie = m.sample.Header.Recipient()
	}
	var mangle, token string
	var signer *stuf.Signer
	for _, k := range st.Keys {
		v := st.Opts[k]
		switch k {
		case "ref":
			env.Referentienummer = cr.ref(v)
		case "cross":
			env.CrossRefnummer = cr.ref(v)
		case "refnummer":
			env.Referentienummer = v
		case "crossrefnummer":
			env.CrossRefnummer = v
		case "functie":
			env.Functie = v
		case "zender":
			env.Zender.Organisatie = v
		case "ontvanger":
			env.Ontvanger.Organisatie = v
		case "mangle":
			mangle = v
		case "token":
			token = v
		case "sign":
			if v != "self" {
				return fmt.Errorf("soap: sign=%q: want self", v)
			}
			s, err := selfSigner()
			if err != nil {
				return err
			}
			signer = s
		default:
			return fmt.Errorf("soap: unknown option %s", k)
		}
	}
	if env.Referentienummer == "" {
		env.Referentienummer = stuf.NewUUID()
	}
	if env.Berichtcode == "Du01" && env.CrossRefnummer == "" {
		env.CrossRefnummer = stuf.NewUUID()
	}
	el, err := env.Marshal()
	if err != nil {
		return fmt.Errorf("soap: building the envelope: %w", err)
	}
	if token == "" {
		token = cr.token(st.Args[0])
	}
	// Each attempt is built and signed anew, with a fresh Timestamp, so a
	// request repeated after a 429 is no replay.
	resp, err := cr.send(ctx, func() (*http.Request, error) {
		msg, err := stuf.Build(stuf.Addressing{Action: action, To: cr.cfg.SOAPTarget}, el, signer, cr.cfg.Now())
		if err != nil {
			return nil, fmt.Errorf("soap: building the SOAP request: %w", err)
		}
		if msg, err = mangleSOAP(msg, mangle); err != nil {
			return nil, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, cr.cfg.SOAPTarget, bytes.NewReader(msg))
		if err != nil {
			return nil, fmt.Errorf("soap: building the request: %w", err)
		}
		req.Header.Set("Content-Type", "text/xml; charset=utf-8")
		req.Header.Set("SOAPAction", `"`+action+`"`)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		return req, nil
	})
	if err != nil {
		return fmt.Errorf("soap: POST %s: %w", cr.cfg.SOAPTarget, err)
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	if _, err := body.ReadFrom(http.MaxBytesReader(nil, resp.Body, 1<<20)); err != nil {
		return fmt.Errorf("soap: reading the answer: %w", err)
	}
	p := &response{verb: "soap", status: resp.StatusCode, body: body.Bytes(), code: "unreadable"}
	if fault, err := stuf.ReadAnswer(p.body); err == nil {
		p.code = "Bv03"
		if fault != nil {
			p.code = fault.Code
		}
	}
	cr.last = p
	return nil
}

// ref returns the referentienummer of label in this case, drawing a fresh
// UUID v4 the first time.
func (cr *caseRun) ref(label string) string {
	if cr.refs == nil {
		cr.refs = map[string]string{}
	}
	if r, ok := cr.refs[label]; ok {
		return r
	}
	r := stuf.NewUUID()
	cr.refs[label] = r
	return r
}

// mangleSOAP applies a byte-level change to a SOAP request.
func mangleSOAP(msg []byte, how string) ([]byte, error) {
	switch how {
	case "":
		return msg, nil
	case "bom":
		return append([]byte{0xEF, 0xBB, 0xBF}, msg...), nil
	case "latin1":
		return bytes.Replace(msg, []byte(`encoding="UTF-8"`), []byte(`encoding="ISO-8859-1"`), 1), nil
	case "doctype":
		return bytes.Replace(msg, []byte(`?>`), []byte(`?><!DOCTYPE x [<!ENTITY a "b">]>`), 1), nil
	case "no-applicatieversie":
		i, j := bytes.Index(msg, []byte("<GGK:applicatieVersie>")), bytes.Index(msg, []byte("<GGK:applicatieSubversie>"))
		if i < 0 || j < i {
			return nil, fmt.Errorf("soap: mangle=%s: no applicatieVersie in the envelope", how)
		}
		return append(append([]byte(nil), msg[:i]...), msg[j:]...), nil
	case "nul-after":
		// A NUL after the envelope, and markup after it that a parser
		// stopping at the NUL would never check.
		return append(append([]byte(nil), msg...), "\x00<!DOCTYPE x [<!ENTITY a \"b\">]><x>&a;</x>"...), nil
	case "attribute-flood":
		var flood bytes.Buffer
		for i := range 1000 {
			fmt.Fprintf(&flood, ` a%d="1"`, i)
		}
		i := bytes.Index(msg, []byte("<GGK:stuurgegevens"))
		if i < 0 {
			return nil, fmt.Errorf("soap: mangle=%s: no stuurgegevens in the envelope", how)
		}
		j := i + len("<GGK:stuurgegevens")
		return append(append(append([]byte(nil), msg[:j]...), flood.Bytes()...), msg[j:]...), nil
	case "oversize":
		// A comment after the envelope takes it past 25 MB (plus the
		// allowance for SOAP headers).
		pad := stuf.MaxEnvelopeBytes + 128<<10
		out := make([]byte, 0, len(msg)+pad+7)
		out = append(out, msg...)
		out = append(out, "<!--"...)
		out = append(out, bytes.Repeat([]byte("x"), pad)...)
		return append(out, "-->"...), nil
	}
	return nil, fmt.Errorf("soap: mangle=%q: want bom, latin1, doctype, no-applicatieversie, nul-after, attribute-flood or oversize", how)
}

// SignatureTrust returns the stuf.Trust an in-process switch runs the
// conformance suite with: gemeente SignatureParty must sign, with a fresh
// certificate whose key nobody holds, so its unsigned requests are KP201
// and those signed by the runner KP202 (FeatureSignature). Everyone else
// need not sign.
func SignatureTrust() (stuf.Trust, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("conformance: signature trust key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "gemeente " + SignatureParty}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("conformance: signature trust certificate: %w", err)
	}
	return signTrust(der), nil
}

// signTrust requires SignatureParty to sign with its certificate.
type signTrust []byte

// Certificate implements stuf.Trust.
func (t signTrust) Certificate(party string) ([]byte, bool) {
	if party == SignatureParty {
		return t, true
	}
	return nil, false
}

var (
	selfOnce sync.Once
	selfSig  *stuf.Signer
	selfErr  error
)

// selfSigner is a signer with a certificate the runner made itself, which
// no registry names: its signatures are well-formed but not the party's.
func selfSigner() (*stuf.Signer, error) {
	selfOnce.Do(func() {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			selfErr = fmt.Errorf("soap: signing key: %w", err)
			return
		}
		now := time.Now()
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "knooppunt conformance"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			selfErr = fmt.Errorf("soap: signing certificate: %w", err)
			return
		}
		selfSig, selfErr = stuf.NewSigner(key, der)
	})
	return selfSig, selfErr
}

// soapCode is the code of a SOAP answer for expect.
func soapCode(p *response) string {
	return strings.TrimSpace(p.code)
}
