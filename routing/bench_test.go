package routing

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/bericht"
)

func BenchmarkRouteHeen(b *testing.B) {
	r := DevRegistry()
	p, _ := r.Principal("42420001")
	s, _ := bericht.Lookup("WMO315")
	h := header(s, "0606", "42420001")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Route(ctx, p, h, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRouteRetour(b *testing.B) {
	r := DevRegistry()
	p, _ := r.Principal("42420001")
	s, _ := bericht.Lookup("JW302")
	h := header(s, "0384", "42420001")
	ref := HeenRef{ID: "h", Sender: "0384", Recipient: "42420001"}
	lookup := func(context.Context, HeenKey) (HeenRef, bool, error) { return ref, true, nil }
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Route(ctx, p, h, lookup); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkByToken(b *testing.B) {
	r := DevRegistry()
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := r.ByToken("dev-65656055"); !ok {
			b.Fatal("no principal")
		}
	}
}

// nationalRegistry is a registry file of the size of the country: 342
// gemeenten, 30 samenwerkingsverbanden of 5 gemeenten each, 20,000
// aanbieders, each with a certificate and a token.
func nationalRegistry() []byte {
	var b strings.Builder
	b.WriteString("tokens: true\nparties:\n")
	cred := func(i int) string {
		return fmt.Sprintf("    credentials:\n      certificates:\n        - sha256: \"%064x\"\n      token_sha256: [\"%s\"]\n", i, TokenDigest(fmt.Sprint("t", i)))
	}
	for g := 1; g <= 342; g++ {
		fmt.Fprintf(&b, "  - code: \"%04d\"\n    role: gemeente\n    name: Gemeente %d\n", g, g)
		if g > 150 {
			b.WriteString(cred(g))
		}
	}
	for s := range 30 {
		fmt.Fprintf(&b, "  - code: swv-%d\n    role: samenwerkingsverband\n    name: ISD %d\n    gemeenten: [", s, s)
		for g := range 5 {
			if g > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "\"%04d\"", s*5+g+1)
		}
		b.WriteString("]\n")
		b.WriteString(cred(1000 + s))
	}
	for a := range 20000 {
		fmt.Fprintf(&b, "  - code: \"%08d\"\n    role: aanbieder\n    name: Zorgaanbieder %d\n", 10000000+a, a)
		b.WriteString(cred(100000 + a))
	}
	return []byte(b.String())
}

func BenchmarkParseNational(b *testing.B) {
	data := nationalRegistry()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}

func TestNationalRegistry(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped in -short: parses a 20,000-party registry")
	}
	r, err := Parse(nationalRegistry())
	require.NoError(t, err)
	require.Len(t, r.Principals(), 342+30+20000)
	box, ok := r.MailboxOf("0150")
	require.True(t, ok)
	require.Equal(t, "swv-29", box)
	p, ok := r.ByToken("t100123")
	require.True(t, ok)
	require.Equal(t, "10000123", p.ID)
}
