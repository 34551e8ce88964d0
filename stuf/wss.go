package stuf

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"
)

// WS-Security token types.
const (
	valueTypeX509    = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3"
	encodingBase64   = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"
	digestSHA256     = "http://www.w3.org/2001/04/xmlenc#sha256"
	timestampTTL     = 5 * time.Minute
	defaultClockSkew = 5 * time.Minute
)

// excC14N is exclusive XML canonicalisation without an inclusive prefix list
// (WB007). goxmldsig defaults to inclusive C14N 1.1; every digest and the
// SignedInfo here use this one explicitly.
var excC14N = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")

// Signer signs outgoing SOAP messages as Digikoppeling WUS 2W-be-S wants:
// a wsse:Security header with a Timestamp, the X.509 certificate as a
// BinarySecurityToken referred to directly, and one ds:Signature over Body,
// every WS-Addressing header and the Timestamp, each its own Reference with
// exclusive C14N and SHA-256. RSA keys sign rsa-sha256, ECDSA P-256 keys
// ecdsa-sha256. A Signer is safe for concurrent use.
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
		s.method = dsig.RSASHA256SignatureMethod
	case *ecdsa.PublicKey:
		if !k.Equal(cert.PublicKey) {
			return nil, errors.New("signing key does not match its certificate")
		}
		s.method = dsig.ECDSASHA256SignatureMethod
	default:
		return nil, fmt.Errorf("signing key of type %T is neither RSA nor ECDSA", k)
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
	si.CreateElement("ds:CanonicalizationMethod").CreateAttr("Algorithm", string(excC14N.Algorithm()))
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
		ref.CreateElement("ds:Transforms").CreateElement("ds:Transform").CreateAttr("Algorithm", string(excC14N.Algorithm()))
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

// canonical returns the exclusive C14N of el in its document's namespace
// context, leaving the document untouched.
func canonical(el *etree.Element, prefixList string) ([]byte, error) {
	ctx, err := etreeutils.NSBuildParentContext(el)
	if err != nil {
		return nil, err
	}
	det, err := etreeutils.NSDetatch(ctx, el)
	if err != nil {
		return nil, err
	}
	c := excC14N
	if prefixList != "" {
		c = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList(prefixList)
	}
	return c.Canonicalize(det)
}

func digestOf(el *etree.Element, prefixList string) ([]byte, error) {
	canon, err := canonical(el, prefixList)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(canon)
	return sum[:], nil
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
	// Now is the clock for the Timestamp. Default time.Now.
	Now func() time.Time
	// ClockSkew is the tolerance on Created and Expires. Default 5 minutes.
	ClockSkew time.Duration
}

// Verify checks the signature of msg against certDER, the exact
// certificate its sender is registered with. It requires one ds:Signature
// in wsse:Security, made with exclusive C14N, SHA-256 digests and
// rsa-sha256 or ecdsa-sha256, whose References cover the Body, the
// Timestamp and every WS-Addressing header present; the Timestamp must be
// current. Any failure is a KP201 (no signature) or KP202 fault.
func (v Verifier) Verify(msg []byte, certDER []byte) error {
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(msg); err != nil {
		return sigFault(CodeSignatureInvalid, "het bericht is niet leesbaar voor de handtekeningcontrole")
	}
	root := doc.Root()
	if root == nil || root.Tag != "Envelope" || root.NamespaceURI() != NSSOAP {
		return sigFault(CodeSignatureInvalid, "geen SOAP-envelop")
	}
	header, body := soapParts(root)
	if body == nil {
		return sigFault(CodeSignatureInvalid, "geen SOAP-body")
	}
	var sec *etree.Element
	if header != nil {
		for _, c := range header.ChildElements() {
			if c.Tag == "Security" && c.NamespaceURI() == NSWSSE {
				if sec != nil {
					return sigFault(CodeSignatureInvalid, "meer dan één wsse:Security")
				}
				sec = c
			}
		}
	}
	if sec == nil {
		return sigFault(CodeSignatureMissing, "het bericht is niet ondertekend (wsse:Security ontbreekt)")
	}
	var sig, ts *etree.Element
	for _, c := range sec.ChildElements() {
		switch {
		case c.Tag == "Signature" && c.NamespaceURI() == NSDSig:
			if sig != nil {
				return sigFault(CodeSignatureInvalid, "meer dan één ds:Signature")
			}
			sig = c
		case c.Tag == "Timestamp" && c.NamespaceURI() == NSWSU:
			ts = c
		}
	}
	if sig == nil {
		return sigFault(CodeSignatureMissing, "het bericht is niet ondertekend (ds:Signature ontbreekt)")
	}
	ids, err := collectIDs(root)
	if err != nil {
		return sigFault(CodeSignatureInvalid, "dubbele wsu:Id in het bericht")
	}
	si := child(sig, NSDSig, "SignedInfo")
	if si == nil {
		return sigFault(CodeSignatureInvalid, "ds:SignedInfo ontbreekt")
	}
	if alg := attr(child(si, NSDSig, "CanonicalizationMethod"), "Algorithm"); alg != string(dsig.CanonicalXML10ExclusiveAlgorithmId) {
		return sigFault(CodeSignatureInvalid, "SignedInfo is niet exclusief gecanonicaliseerd")
	}
	method := attr(child(si, NSDSig, "SignatureMethod"), "Algorithm")
	covered := map[*etree.Element]bool{}
	for _, ref := range si.ChildElements() {
		if ref.Tag != "Reference" || ref.NamespaceURI() != NSDSig {
			continue
		}
		uri := attr(ref, "URI")
		el, ok := ids[strings.TrimPrefix(uri, "#")]
		if !strings.HasPrefix(uri, "#") || !ok {
			return sigFault(CodeSignatureInvalid, "een Reference wijst niet naar een element van het bericht")
		}
		prefixList := ""
		transforms := child(ref, NSDSig, "Transforms")
		if transforms == nil || len(transforms.ChildElements()) != 1 {
			return sigFault(CodeSignatureInvalid, "een Reference heeft niet precies één transform")
		}
		tr := transforms.ChildElements()[0]
		if attr(tr, "Algorithm") != string(dsig.CanonicalXML10ExclusiveAlgorithmId) {
			return sigFault(CodeSignatureInvalid, "een Reference is niet exclusief gecanonicaliseerd")
		}
		if in := child(tr, string(dsig.CanonicalXML10ExclusiveAlgorithmId), "InclusiveNamespaces"); in != nil {
			prefixList = attr(in, "PrefixList")
		}
		if attr(child(ref, NSDSig, "DigestMethod"), "Algorithm") != digestSHA256 {
			return sigFault(CodeSignatureInvalid, "een Reference gebruikt geen SHA-256")
		}
		want, err := base64.StdEncoding.DecodeString(strings.TrimSpace(child(ref, NSDSig, "DigestValue").NotNil().Text()))
		if err != nil {
			return sigFault(CodeSignatureInvalid, "DigestValue is geen base64")
		}
		got, err := digestOf(el, prefixList)
		if err != nil || !bytes.Equal(got, want) {
			return sigFault(CodeSignatureInvalid, "de handtekening klopt niet: een ondertekend deel is gewijzigd")
		}
		covered[el] = true
	}
	if !covered[body] {
		return sigFault(CodeSignatureInvalid, "de handtekening dekt de SOAP-body niet")
	}
	if ts == nil || !covered[ts] {
		return sigFault(CodeSignatureInvalid, "de handtekening dekt geen wsu:Timestamp")
	}
	if header != nil {
		for _, c := range header.ChildElements() {
			if c.NamespaceURI() == NSWSA && !covered[c] {
				return sigFault(CodeSignatureInvalid, "de handtekening dekt de WS-Addressing-header "+c.Tag+" niet")
			}
		}
	}
	if err := v.checkTimestamp(ts); err != nil {
		return err
	}
	token := tokenOf(sig, ids)
	if token == nil {
		return sigFault(CodeSignatureInvalid, "het certificaat (BinarySecurityToken) ontbreekt")
	}
	der, err := base64.StdEncoding.DecodeString(strings.TrimSpace(token.Text()))
	if err != nil || !bytes.Equal(der, certDER) {
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
	value, err := base64.StdEncoding.DecodeString(strings.TrimSpace(child(sig, NSDSig, "SignatureValue").NotNil().Text()))
	if err != nil {
		return sigFault(CodeSignatureInvalid, "SignatureValue is geen base64")
	}
	canon, err := canonical(si, "")
	if err != nil {
		return sigFault(CodeSignatureInvalid, "SignedInfo is niet te canonicaliseren")
	}
	sum := sha256.Sum256(canon)
	switch pub := cert.PublicKey.(type) {
	case *rsa.PublicKey:
		if method != dsig.RSASHA256SignatureMethod || rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], value) != nil {
			return sigFault(CodeSignatureInvalid, "de handtekening klopt niet")
		}
	case *ecdsa.PublicKey:
		size := (pub.Curve.Params().BitSize + 7) / 8
		if method != dsig.ECDSASHA256SignatureMethod || len(value) != 2*size ||
			!ecdsa.Verify(pub, sum[:], new(big.Int).SetBytes(value[:size]), new(big.Int).SetBytes(value[size:])) {
			return sigFault(CodeSignatureInvalid, "de handtekening klopt niet")
		}
	default:
		return sigFault(CodeSignatureInvalid, "het certificaat heeft een sleuteltype dat niet wordt ondersteund")
	}
	return nil
}

func (v Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

func (v Verifier) checkTimestamp(ts *etree.Element) error {
	skew := v.ClockSkew
	if skew == 0 {
		skew = defaultClockSkew
	}
	created, err1 := time.Parse(time.RFC3339Nano, strings.TrimSpace(child(ts, NSWSU, "Created").NotNil().Text()))
	expires, err2 := time.Parse(time.RFC3339Nano, strings.TrimSpace(child(ts, NSWSU, "Expires").NotNil().Text()))
	if err1 != nil || err2 != nil {
		return sigFault(CodeSignatureInvalid, "wsu:Timestamp is onleesbaar")
	}
	now := v.now()
	if created.After(now.Add(skew)) || !expires.After(now.Add(-skew)) {
		return sigFault(CodeSignatureInvalid, "wsu:Timestamp is verlopen of ligt in de toekomst")
	}
	return nil
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

func soapParts(root *etree.Element) (header, body *etree.Element) {
	for _, c := range root.ChildElements() {
		if c.NamespaceURI() != NSSOAP {
			continue
		}
		switch c.Tag {
		case "Header":
			header = c
		case "Body":
			body = c
		}
	}
	return header, body
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
