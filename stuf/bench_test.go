package stuf_test

import (
	"bytes"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/stuf"
)

// body4K is a Di01 element whose signed SOAP message is about 4 KB.
func body4K(b *testing.B) []byte {
	e := &stuf.Envelope{
		Berichtcode: "Di01", Zender: stuf.Party{Organisatie: "0363", Applicatie: "Wmo app"},
		Ontvanger: stuf.Party{Organisatie: "42420001", Applicatie: "GGk"}, Referentienummer: stuf.NewUUID(),
		TijdstipBericht: stuf.Tijdstip(time.Now()), Functie: "WMO301", Payload: bytes.Repeat([]byte("<x>bericht</x>"), 130),
	}
	el, err := e.Marshal()
	require.NoError(b, err)
	return el
}

// cpuTime is the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU adds cpu-µs/op: CPU time per operation, which on a machine
// shared with other work is a steadier per-core cost than wall time.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(time.Microsecond)/float64(b.N), "cpu-µs/op")
}

// BenchmarkSign measures building a SOAP message: plain (the baseline) and
// signed with RSA-2048 or ECDSA P-256 (parse, three-to-six digests, exclusive
// C14N, one signature, serialise).
func BenchmarkSign(b *testing.B) {
	body := body4K(b)
	rsaS, _ := rsaSigner(b)
	ecS, _ := ecdsaSigner(b)
	for _, c := range []struct {
		name string
		s    *stuf.Signer
	}{{"plain", nil}, {"rsa2048", rsaS}, {"ecdsa-p256", ecS}} {
		b.Run(c.name, func(b *testing.B) {
			a := stuf.Addressing{Action: stuf.ActionDi01, To: "https://gemeente.test/ggk"}
			msg, err := stuf.Build(a, body, c.s, time.Now())
			require.NoError(b, err)
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			start := cpuTime()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := stuf.Build(a, body, c.s, time.Now()); err != nil {
						b.Error(err)
						return
					}
				}
			})
			reportCPU(b, start)
		})
	}
}

// BenchmarkVerify measures checking a signed 4 KB message.
func BenchmarkVerify(b *testing.B) {
	body := body4K(b)
	rsaS, rsaCert := rsaSigner(b)
	ecS, ecCert := ecdsaSigner(b)
	for _, c := range []struct {
		name string
		s    *stuf.Signer
		cert []byte
	}{{"rsa2048", rsaS, rsaCert}, {"ecdsa-p256", ecS, ecCert}} {
		b.Run(c.name, func(b *testing.B) {
			msg, err := stuf.Build(stuf.Addressing{Action: stuf.ActionDi01, To: "https://knooppunt.test"}, body, c.s, time.Now())
			require.NoError(b, err)
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			start := cpuTime()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := (stuf.Verifier{}).Verify(msg, c.cert); err != nil {
						b.Error(err)
						return
					}
				}
			})
			reportCPU(b, start)
		})
	}
}
