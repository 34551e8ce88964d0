package routing

import (
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"strings"
)

// Fingerprint is the SHA-256 fingerprint of a certificate's DER encoding.
func Fingerprint(cert *x509.Certificate) [32]byte {
	return sha256.Sum256(cert.Raw)
}

// TokenDigest is the SHA-256 of a bearer token, as the registry file holds
// it (token_sha256), in hex.
func TokenDigest(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// parseFingerprint accepts 64 hex digits, optionally with colons between
// the bytes as openssl prints them.
func parseFingerprint(s string) ([32]byte, error) {
	if strings.Contains(s, ":") {
		parts := strings.Split(s, ":")
		for _, p := range parts {
			if len(p) != 2 {
				return [32]byte{}, errors.New("colons go between the bytes, e.g. AB:CD:…")
			}
		}
		s = strings.Join(parts, "")
	}
	return parseDigest(s)
}

// parseDigest accepts 64 hex digits in any case.
func parseDigest(s string) ([32]byte, error) {
	var sum [32]byte
	if len(s) != 64 {
		return sum, errors.New("want 64 hex digits")
	}
	if _, err := hex.Decode(sum[:], []byte(s)); err != nil {
		return sum, errors.New("want 64 hex digits")
	}
	return sum, nil
}

// equalDigest compares two digests in constant time.
func equalDigest(a, b [32]byte) bool {
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}
