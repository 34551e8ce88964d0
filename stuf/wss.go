package stuf

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/beevik/etree"
)

// WS-Security token types, and the times a Timestamp is held to.
const (
	valueTypeX509  = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3"
	encodingBase64 = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"
	timestampTTL   = 5 * time.Minute

	// DefaultClockSkew is how far a sender's clock may be off from the
	// switch's: a Timestamp is accepted from its Created minus the skew
	// until its end plus the skew.
	DefaultClockSkew = 60 * time.Second
	// DefaultMaxAge is how long after its Created a Timestamp is accepted
	// at most, whatever its Expires says or when it has none (Expires is
	// optional, WB002). Its end is the earlier of Expires and Created plus
	// this; with the skew it is the replay window.
	DefaultMaxAge = 5 * time.Minute
)

// nsWSASubmission is the namespace of the WS-Addressing member submission
// (2004/08), which older stacks still write; its headers must be signed as
// much as WS-Addressing 1.0's.
const nsWSASubmission = "http://schemas.xmlsoap.org/ws/2004/08/addressing"

// Signer signs outgoing SOAP messages as Digikoppeling WUS 2W-be-S wants:
// a wsse:Security header with a Timestamp, the X.509 certificate as a
// BinarySecurityToken referred to directly, and one ds:Signature over Body,
// every WS-Addressing header and the Timestamp, each its own Reference with
// exclusive C14N without an inclusive prefix list (WB007) and SHA-256. RSA
// keys sign rsa-sha256, ECDSA P-256 keys ecdsa-sha256. A Signer is safe for
// concurrent use.
type Signer struct {
	key     crypto.Signer
	certDER []byte
	method  string
}

// NewSigner returns a Signer for key and its certificate (DER). The key
// must be RSA or ECDSA and match the certificate.
func NewSigner(key crypto.Signer, certDER []byte) (*Signer, error) {
	cert, err := x509.ParseCertificate(certDER)
	if err != nil {
		return nil, fmt.Errorf("parsing signing certificate: %w", err)
	}
	s := &Signer{key: key, certDER: certDER}
	switch k := key.Public().(type) {
	case *rsa.PublicKey:
		if !k.Equal(cert.PublicKey) {
			return nil, errors.New("signing key does not match its certificate")
		}
		s.method = algRSASHA256
	case *ecdsa.PublicKey:
		if !k.Equal(cert.PublicKey) {
			return nil, errors.New("signing key does not match its certificate")
		}
		s.method = algECDSASHA256
	default:
		return nil, fmt.Errorf("signing key of type %T is neither RSA nor ECDSA", k)
	}
	return s, nil
}

// LoadSigner returns a Signer for the certificate and key in the PEM
// files certFile and keyFile.
func LoadSigner(certFile, keyFile string) (*Signer, error) {
	kp, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("loading WS-Security signing certificate %s: %w", certFile, err)
	}
	key, ok := kp.PrivateKey.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("WS-Security signing key %s cannot sign", keyFile)
	}
	s, err := NewSigner(key, kp.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("WS-Security signing certificate %s: %w", certFile, err)
	}
	return s, nil
}

// build assembles and signs a SOAP message.
func (s *Signer) build(a Addressing, body []byte, now time.Time) ([]byte, error) {
	var b bytes.Buffer
	b.Grow(len(body) + 4096)
	b.WriteString(`<soap:Envelope xmlns:soap="` + NSSOAP + `" xmlns:wsa="` + NSWSA + `" xmlns:wsse="` + NSWSSE + `" xmlns:wsu="` + NSWSU + `"><soap:Header>`)
	writeAddressing(&b, a, true)
	b.WriteString(`<wsse:Security soap:mustUnderstand="1"><wsu:Timestamp wsu:Id="id-timestamp"><wsu:Created>`)
	b.WriteString(now.UTC().Format("2006-01-02T15:04:05.000Z"))
	b.WriteString(`</wsu:Created><wsu:Expires>`)
	b.WriteString(now.UTC().Add(timestampTTL).Format("2006-01-02T15:04:05.000Z"))
	b.WriteString(`</wsu:Expires></wsu:Timestamp><wsse:BinarySecurityToken wsu:Id="id-x509" ValueType="` + valueTypeX509 + `" EncodingType="` + encodingBase64 + `">`)
	b.WriteString(base64.StdEncoding.EncodeToString(s.certDER))
	b.WriteString(`</wsse:BinarySecurityToken></wsse:Security></soap:Header><soap:Body wsu:Id="id-body">`)
	b.Write(body)
	b.WriteString(`</soap:Body></soap:Envelope>`)

	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(b.Bytes()); err != nil {
		return nil, fmt.Errorf("signing: reading the message to sign: %w", err)
	}
	ids, err := collectIDs(doc.Root())
	if err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	sec := doc.Root().FindElement("./soap:Header/wsse:Security")
	sig := sec.CreateElement("ds:Signature")
	sig.CreateAttr("xmlns:ds", NSDSig)
	si := sig.CreateElement("ds:SignedInfo")
	si.CreateElement("ds:CanonicalizationMethod").CreateAttr("Algorithm", algExcC14N)
	si.CreateElement("ds:SignatureMethod").CreateAttr("Algorithm", s.method)
	for _, id := range []string{"id-action", "id-messageid", "id-to", "id-relatesto", "id-timestamp", "id-body"} {
		el, ok := ids[id]
		if !ok {
			continue
		}
		digest, err := digestOf(el, "")
		if err != nil {
			return nil, fmt.Errorf("signing: digest of %s: %w", id, err)
		}
		ref := si.CreateElement("ds:Reference")
		ref.CreateAttr("URI", "#"+id)
		ref.CreateElement("ds:Transforms").CreateElement("ds:Transform").CreateAttr("Algorithm", algExcC14N)
		ref.CreateElement("ds:DigestMethod").CreateAttr("Algorithm", digestSHA256)
		ref.CreateElement("ds:DigestValue").SetText(base64.StdEncoding.EncodeToString(digest))
	}
	canon, err := canonical(si, "")
	if err != nil {
		return nil, fmt.Errorf("signing: canonicalising SignedInfo: %w", err)
	}
	value, err := s.sign(canon)
	if err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	sig.CreateElement("ds:SignatureValue").SetText(base64.StdEncoding.EncodeToString(value))
	str := sig.CreateElement("ds:KeyInfo").CreateElement("wsse:SecurityTokenReference").CreateElement("wsse:Reference")
	str.CreateAttr("URI", "#id-x509")
	str.CreateAttr("ValueType", valueTypeX509)
	doc.WriteSettings.CanonicalEndTags = true
	out, err := doc.WriteToBytes() // never indented: whitespace is signed
	if err != nil {
		return nil, fmt.Errorf("signing: writing the message: %w", err)
	}
	return append([]byte(`<?xml version="1.0" encoding="UTF-8"?>`), out...), nil
}

// sign signs the canonical SignedInfo.
func (s *Signer) sign(canon []byte) ([]byte, error) {
	sum := sha256.Sum256(canon)
	raw, err := s.key.Sign(rand.Reader, sum[:], crypto.SHA256)
	if err != nil {
		return nil, err
	}
	if _, ok := s.key.Public().(*ecdsa.PublicKey); ok {
		return ecdsaASN1ToRaw(raw, 32)
	}
	return raw, nil
}

// ecdsaASN1ToRaw converts an ASN.1 ECDSA signature to XMLDSig's r||s.
func ecdsaASN1ToRaw(der []byte, size int) ([]byte, error) {
	r, sv, err := parseECDSASig(der)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 2*size)
	r.FillBytes(out[:size])
	sv.FillBytes(out[size:])
	return out, nil
}

// parseECDSASig reads SEQUENCE { INTEGER r, INTEGER s }.
func parseECDSASig(der []byte) (*big.Int, *big.Int, error) {
	bad := errors.New("malformed ECDSA signature")
	if len(der) < 8 || der[0] != 0x30 || int(der[1]) != len(der)-2 {
		return nil, nil, bad
	}
	rest := der[2:]
	var ints [2]*big.Int
	for i := range ints {
		if len(rest) < 2 || rest[0] != 0x02 || int(rest[1]) > len(rest)-2 {
			return nil, nil, bad
		}
		n := int(rest[1])
		ints[i] = new(big.Int).SetBytes(rest[2 : 2+n])
		rest = rest[2+n:]
	}
	return ints[0], ints[1], nil
}

// digestOf is the SHA-256 of el's exclusive canonical form.
func digestOf(el *etree.Element, prefixList string) ([]byte, error) {
	h := sha256.New()
	if err := canonicalize(h, el, prefixList); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}

// collectIDs maps every wsu:Id (and Id) in the document to its element and
// fails on a duplicate: a signature must point at exactly one element, or a
// wrapping attack could make the verifier and the reader see different ones.
func collectIDs(root *etree.Element) (map[string]*etree.Element, error) {
	ids := map[string]*etree.Element{}
	var walk func(el *etree.Element) error
	walk = func(el *etree.Element) error {
		for i := range el.Attr {
			a := &el.Attr[i]
			if a.Key != "Id" && a.Key != "ID" {
				continue
			}
			if a.Space != "" && a.NamespaceURI() != NSWSU {
				continue
			}
			if _, dup := ids[a.Value]; dup {
				return fmt.Errorf("id %q occurs twice", a.Value)
			}
			ids[a.Value] = el
		}
		for _, c := range el.ChildElements() {
			if err := walk(c); err != nil {
				return err
			}
		}
		return nil
	}
	return ids, walk(root)
}

// Trust says which certificate a party signs with.
type Trust interface {
	// Certificate returns the exact certificate (DER) party must sign
	// with, and whether the party must sign at all. A party that need not
	// sign may still sign; its signature is then checked only if a
	// certificate is given.
	Certificate(party string) (der []byte, required bool)
}

// Verifier checks WS-Security signatures on incoming SOAP messages.
type Verifier struct {
	// Now is the clock for the Timestamp, the certificate's validity and
	// the replay memory. Default time.Now.
	Now func() time.Time
	// ClockSkew is the tolerance on a Timestamp's Created and end.
	// Default DefaultClockSkew (60 s).
	ClockSkew time.Duration
	// MaxAge is how long after Created a Timestamp is accepted at most.
	// Default DefaultMaxAge (5 minutes).
	MaxAge time.Duration
	// Replay, if set, remembers every message this Verifier accepted until
	// its Timestamp ends and refuses one with the same wsa:MessageID or
	// the same signature meanwhile (KP204). Default nil: none.
	Replay *ReplayCache
}

// Verify checks the signature of msg against certDER, the exact
// certificate its sender is registered with. It requires one ds:Signature
// in wsse:Security, made with exclusive C14N (an inclusive prefix list is
// honoured), SHA-256 digests and rsa-sha256 or ecdsa-sha256, whose
// References cover the Body, the Timestamp and every WS-Addressing header
// present (WB004). The Timestamp must be current (KP203) and, with Replay
// set, the message new (KP204). Any other failure is a KP201 (no
// signature) or KP202 fault.
func (v Verifier) Verify(msg []byte, certDER []byte) error {
	return v.verify(msg, [][]byte{certDER})
}

// verify is Verify for a party with several certificates (a rollover):
// the message's own certificate must be one of ders; nil ders accepts the
// certificate the message carries (integrity only).
func (v Verifier) verify(msg []byte, ders [][]byte) error {
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(msg); err != nil {
		return sigFault(CodeSignatureInvalid, "het bericht is niet leesbaar voor de handtekeningcontrole")
	}
	root := doc.Root()
	if root == nil || root.Tag != "Envelope" || root.NamespaceURI() != NSSOAP {
		return sigFault(CodeSignatureInvalid, "geen SOAP-envelop")
	}
	header, body, ok := soapParts(root)
	if !ok || body == nil {
		return sigFault(CodeSignatureInvalid, "geen SOAP-envelop met hoogstens één header en precies één body")
	}
	var sec []*etree.Element
	if header != nil {
		sec = children(header, NSWSSE, "Security")
	}
	switch len(sec) {
	case 0:
		return sigFault(CodeSignatureMissing, "het bericht is niet ondertekend (wsse:Security ontbreekt)")
	case 1:
	default:
		return sigFault(CodeSignatureInvalid, "meer dan één wsse:Security")
	}
	sigs, tss := children(sec[0], NSDSig, "Signature"), children(sec[0], NSWSU, "Timestamp")
	switch {
	case len(sigs) == 0:
		return sigFault(CodeSignatureMissing, "het bericht is niet ondertekend (ds:Signature ontbreekt)")
	case len(sigs) > 1:
		return sigFault(CodeSignatureInvalid, "meer dan één ds:Signature")
	case len(tss) > 1:
		return sigFault(CodeSignatureInvalid, "meer dan één wsu:Timestamp")
	}
	sig := sigs[0]
	ids, err := collectIDs(root)
	if err != nil {
		return sigFault(CodeSignatureInvalid, "dubbele wsu:Id in het bericht")
	}
	si := child(sig, NSDSig, "SignedInfo")
	if si == nil {
		return sigFault(CodeSignatureInvalid, "ds:SignedInfo ontbreekt")
	}
	siPrefixes, ok := excC14NParams(child(si, NSDSig, "CanonicalizationMethod"))
	if !ok {
		return sigFault(CodeSignatureInvalid, "SignedInfo is niet exclusief gecanonicaliseerd (xml-exc-c14n#)")
	}
	method := attr(child(si, NSDSig, "SignatureMethod"), "Algorithm")
	if method != algRSASHA256 && method != algECDSASHA256 {
		return sigFault(CodeSignatureInvalid, "de handtekening gebruikt een ander algoritme dan rsa-sha256 of ecdsa-sha256")
	}
	covered, f := checkReferences(si, ids)
	if f != nil {
		return f
	}
	if !covered[body] {
		return sigFault(CodeSignatureInvalid, "de handtekening dekt de SOAP-body niet")
	}
	if len(tss) == 0 || !covered[tss[0]] {
		return sigFault(CodeSignatureInvalid, "de handtekening dekt geen wsu:Timestamp")
	}
	var messageIDs []string
	for _, c := range header.ChildElements() {
		ns := c.NamespaceURI()
		if ns != NSWSA && ns != nsWSASubmission {
			continue
		}
		if !covered[c] {
			return sigFault(CodeSignatureInvalid, "de handtekening dekt de WS-Addressing-header "+c.Tag+" niet")
		}
		if c.Tag == "MessageID" {
			messageIDs = append(messageIDs, strings.TrimSpace(c.Text()))
		}
	}
	token := tokenOf(sig, ids)
	if token == nil {
		return sigFault(CodeSignatureInvalid, "het certificaat (BinarySecurityToken) ontbreekt")
	}
	der, err := decodeBase64(token.Text())
	if err != nil || ders != nil && !slices.ContainsFunc(ders, func(d []byte) bool { return bytes.Equal(d, der) }) {
		return sigFault(CodeSignatureInvalid, "ondertekend met een ander certificaat dan dat van de partij")
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return sigFault(CodeSignatureInvalid, "het certificaat is onleesbaar")
	}
	now := v.now()
	if now.Before(cert.NotBefore) || now.After(cert.NotAfter) {
		return sigFault(CodeSignatureInvalid, "het certificaat is niet geldig op dit moment")
	}
	value, err := decodeBase64(child(sig, NSDSig, "SignatureValue").NotNil().Text())
	if err != nil {
		return sigFault(CodeSignatureInvalid, "SignatureValue is geen base64")
	}
	h := sha256.New()
	if err := canonicalize(h, si, siPrefixes); err != nil {
		return sigFault(CodeSignatureInvalid, "SignedInfo is niet te canonicaliseren")
	}
	signed := h.Sum(nil)
	switch pub := cert.PublicKey.(type) {
	case *rsa.PublicKey:
		if method != algRSASHA256 || rsa.VerifyPKCS1v15(pub, crypto.SHA256, signed, value) != nil {
			return sigFault(CodeSignatureInvalid, "de handtekening klopt niet")
		}
	case *ecdsa.PublicKey:
		size := (pub.Curve.Params().BitSize + 7) / 8
		if method != algECDSASHA256 || len(value) != 2*size ||
			!ecdsa.Verify(pub, signed, new(big.Int).SetBytes(value[:size]), new(big.Int).SetBytes(value[size:])) {
			return sigFault(CodeSignatureInvalid, "de handtekening klopt niet")
		}
	default:
		return sigFault(CodeSignatureInvalid, "het certificaat heeft een sleuteltype dat niet wordt ondersteund")
	}
	until, f := v.checkTimestamp(tss[0], now)
	if f != nil {
		return f
	}
	if v.Replay != nil {
		// Keyed per certificate: the signature by what it signs (a
		// re-encoded SignatureValue is the same signature), and each
		// MessageID.
		scope := sha256.Sum256(der)
		keys := []replayKey{newReplayKey(scope, 's', signed)}
		for _, id := range messageIDs {
			if id != "" {
				keys = append(keys, newReplayKey(scope, 'm', []byte(id)))
			}
		}
		if !v.Replay.remember(keys, until, now) {
			return sigFault(CodeReplay, "dit bericht (dezelfde wsa:MessageID of handtekening) is al ontvangen; verstuur een nieuw ondertekend bericht")
		}
	}
	return nil
}

// checkReferences checks every Reference of si: a same-document URI naming
// one element, exactly one transform (exclusive C14N, with the prefix list
// it names), SHA-256 and a digest that matches. It returns the elements
// covered.
func checkReferences(si *etree.Element, ids map[string]*etree.Element) (map[*etree.Element]bool, *Fault) {
	covered := map[*etree.Element]bool{}
	for _, ref := range children(si, NSDSig, "Reference") {
		id, local := strings.CutPrefix(attr(ref, "URI"), "#")
		el := ids[id]
		if !local || el == nil {
			return nil, sigFault(CodeSignatureInvalid, "een Reference wijst niet naar een element van het bericht")
		}
		transforms := children(child(ref, NSDSig, "Transforms"), NSDSig, "Transform")
		if len(transforms) != 1 {
			return nil, sigFault(CodeSignatureInvalid, "een Reference heeft niet precies één transform")
		}
		prefixList, ok := excC14NParams(transforms[0])
		if !ok {
			return nil, sigFault(CodeSignatureInvalid, "een Reference is niet exclusief gecanonicaliseerd (xml-exc-c14n#)")
		}
		if attr(child(ref, NSDSig, "DigestMethod"), "Algorithm") != digestSHA256 {
			return nil, sigFault(CodeSignatureInvalid, "een Reference gebruikt geen SHA-256")
		}
		want, err := decodeBase64(child(ref, NSDSig, "DigestValue").NotNil().Text())
		if err != nil {
			return nil, sigFault(CodeSignatureInvalid, "DigestValue is geen base64")
		}
		got, err := digestOf(el, prefixList)
		if err != nil || !bytes.Equal(got, want) {
			return nil, sigFault(CodeSignatureInvalid, "de handtekening klopt niet: een ondertekend deel is gewijzigd")
		}
		covered[el] = true
	}
	return covered, nil
}

// excC14NParams checks that m, a CanonicalizationMethod or Transform, is
// exclusive C14N without comments, with at most an ec:InclusiveNamespaces
// as parameter, and returns that parameter's PrefixList.
func excC14NParams(m *etree.Element) (prefixList string, ok bool) {
	if m == nil || attr(m, "Algorithm") != algExcC14N {
		return "", false
	}
	params := m.ChildElements()
	switch {
	case len(params) == 0:
		return "", true
	case len(params) == 1 && params[0].Tag == "InclusiveNamespaces" && params[0].NamespaceURI() == nsExcC14N:
		return attr(params[0], "PrefixList"), true
	}
	return "", false
}

func (v Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

// checkTimestamp accepts ts from its Created minus the skew until its end
// (the earlier of Expires and Created plus MaxAge) plus the skew, and
// returns that last moment.
func (v Verifier) checkTimestamp(ts *etree.Element, now time.Time) (time.Time, *Fault) {
	skew, maxAge := v.ClockSkew, v.MaxAge
	if skew <= 0 {
		skew = DefaultClockSkew
	}
	if maxAge <= 0 {
		maxAge = DefaultMaxAge
	}
	cs, es := children(ts, NSWSU, "Created"), children(ts, NSWSU, "Expires")
	if len(cs) != 1 || len(es) > 1 {
		return time.Time{}, sigFault(CodeTimestamp, "wsu:Timestamp heeft niet precies één Created en hoogstens één Expires")
	}
	created, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(cs[0].Text()))
	if err != nil {
		return time.Time{}, sigFault(CodeTimestamp, "wsu:Created is geen tijdstip met tijdzone")
	}
	end := created.Add(maxAge)
	if len(es) == 1 {
		expires, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(es[0].Text()))
		if err != nil || !expires.After(created) {
			return time.Time{}, sigFault(CodeTimestamp, "wsu:Expires is geen tijdstip met tijdzone na Created")
		}
		if expires.Before(end) {
			end = expires
		}
	}
	if created.After(now.Add(skew)) {
		return time.Time{}, sigFault(CodeTimestamp, "wsu:Timestamp ligt in de toekomst; controleer de klok van de verzender")
	}
	until := end.Add(skew)
	if !now.Before(until) {
		return time.Time{}, sigFault(CodeTimestamp, "wsu:Timestamp is verlopen; onderteken het bericht opnieuw")
	}
	return until, nil
}

// tokenOf finds the BinarySecurityToken the signature's KeyInfo refers to.
func tokenOf(sig *etree.Element, ids map[string]*etree.Element) *etree.Element {
	ref := child(child(child(sig, NSDSig, "KeyInfo"), NSWSSE, "SecurityTokenReference"), NSWSSE, "Reference")
	if ref == nil {
		return nil
	}
	el := ids[strings.TrimPrefix(attr(ref, "URI"), "#")]
	if el == nil || el.Tag != "BinarySecurityToken" || el.NamespaceURI() != NSWSSE || attr(el, "ValueType") != valueTypeX509 {
		return nil
	}
	return el
}

// soapParts returns the envelope's Header and Body; ok is false when either
// occurs twice.
func soapParts(root *etree.Element) (header, body *etree.Element, ok bool) {
	for _, c := range root.ChildElements() {
		if c.NamespaceURI() != NSSOAP {
			continue
		}
		switch c.Tag {
		case "Header":
			if header != nil {
				return nil, nil, false
			}
			header = c
		case "Body":
			if body != nil {
				return nil, nil, false
			}
			body = c
		}
	}
	return header, body, true
}

func child(el *etree.Element, ns, tag string) *etree.Element {
	if el == nil {
		return nil
	}
	for _, c := range el.ChildElements() {
		if c.Tag == tag && c.NamespaceURI() == ns {
			return c
		}
	}
	return nil
}

func children(el *etree.Element, ns, tag string) []*etree.Element {
	if el == nil {
		return nil
	}
	var out []*etree.Element
	for _, c := range el.ChildElements() {
		if c.Tag == tag && c.NamespaceURI() == ns {
			out = append(out, c)
		}
	}
	return out
}

func attr(el *etree.Element, key string) string {
	if el == nil {
		return ""
	}
	for _, a := range el.Attr {
		if a.Key == key && a.Space == "" {
			return a.Value
		}
	}
	return ""
}

func sigFault(code, description string) *Fault { return clientFault(code, description) }
