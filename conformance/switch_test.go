package conformance

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/node"
	"github.com/knooppunt/knooppunt/store"
)

// testLease is the in-process switch's visibility timeout.
const testLease = time.Second

// signTrust requires SignatureParty to sign with a certificate the runner
// does not have, as a registry's require_signature does.
type signTrust []byte

func (t signTrust) Certificate(party string) ([]byte, bool) {
	if party == SignatureParty {
		return t, true
	}
	return nil, false
}

// startSwitch runs a fresh in-process switch — the one `knooppunt serve
// --dev` runs, on a temporary data directory with a short lease, with the
// StUF-GGk SOAP endpoint and gemeente SignatureParty required to sign —
// and returns its base URL and its SOAP URL.
func startSwitch(t *testing.T) (string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "gemeente " + SignatureParty}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	n, err := node.Start(context.Background(), node.Config{
		Dev: true, Addr: "127.0.0.1:0",
		Store: store.Config{Dir: t.TempDir(), VisibilityTimeout: testLease},
		StUF:  node.StUFConfig{Addr: "127.0.0.1:0", Trust: signTrust(der)},
	})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, n.Shutdown(ctx))
	})
	return n.URL(), n.StUFURL()
}
