package stuf

import "errors"

// TrustSet is a Trust that knows several certificates per party, as during
// a certificate rollover; a signature made with any of them is accepted.
// The registry's trust (node) is one.
type TrustSet interface {
	Trust
	// Certificates returns every certificate (DER) party may sign with,
	// and whether it must sign.
	Certificates(party string) (ders [][]byte, required bool)
}

// certificates returns the certificates tr names for party.
func certificates(tr Trust, party string) ([][]byte, bool) {
	if ts, ok := tr.(TrustSet); ok {
		return ts.Certificates(party)
	}
	der, required := tr.Certificate(party)
	if der == nil {
		return nil, required
	}
	return [][]byte{der}, required
}

// VerifyParty checks the signature of msg from party as tr requires: a
// party with certificates that must sign is refused unsigned (KP201) or
// signed with anything but one of its certificates (KP202); a party that
// need not sign may send unsigned, but a signature it sends must verify —
// against one of its certificates, or, when it has none registered, against
// the certificate the message carries (the signature then proves no
// identity, which the caller's authentication does, but a message changed
// after signing is still refused); a party that must sign but has no
// certificate is refused (KP202). A nil tr checks nothing. Errors are
// *Fault.
func VerifyParty(v Verifier, tr Trust, party string, msg []byte) error {
	if tr == nil {
		return nil
	}
	ders, required := certificates(tr, party)
	if len(ders) == 0 {
		if required {
			return sigFault(CodeSignatureInvalid, "voor deze partij is geen certificaat geregistreerd")
		}
		ders = nil // the message's own certificate
	}
	err := v.verify(msg, ders)
	var f *Fault
	if !required && errors.As(err, &f) && f.Code == CodeSignatureMissing {
		return nil
	}
	return err
}
