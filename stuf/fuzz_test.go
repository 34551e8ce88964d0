package stuf_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/knooppunt/knooppunt/sample"
	"github.com/knooppunt/knooppunt/stuf"
)

// FuzzHandler drives the whole SOAP endpoint with arbitrary request bodies:
// it must never panic, must answer 200 with a Bv03 or 500 with a Fo03 fault
// carrying a code, and must store only what it acknowledged.
func FuzzHandler(f *testing.F) {
	m, err := sample.New(11).Heen(soortF(f, "WMO301"), sample.Options{Afzender: "0363"})
	if err != nil {
		f.Fatal(err)
	}
	e := &stuf.Envelope{
		Berichtcode: "Di01", Zender: stuf.Party{Organisatie: "0363", Applicatie: "Wmo app"},
		Ontvanger: stuf.Party{Organisatie: m.Header.Ontvanger, Applicatie: "GGk"}, Referentienummer: stuf.NewUUID(),
		TijdstipBericht: stuf.Tijdstip(time.Now()), Functie: "WMO301", Payload: m.XML,
	}
	el, _ := e.Marshal()
	valid, _ := stuf.Build(stuf.Addressing{Action: stuf.ActionDi01}, el, nil, time.Now())
	f.Add(valid)
	f.Add([]byte(`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body/></soap:Envelope>`))
	f.Add([]byte{0xEF, 0xBB, 0xBF, '<'})
	f.Add([]byte(`<?xml version="1.0" encoding="UTF-16"?><a/>`))
	h := newHarness(f)
	f.Fuzz(func(t *testing.T, msg []byte) {
		h.t = t
		before := len(h.store.stored())
		status, body := h.post("0363", "", msg)
		a := readAnswer(t, body)
		switch status {
		case 200:
			if a.Bv03 == nil {
				t.Fatalf("200 without Bv03: %s", body)
			}
		case 500:
			if a.Fault == nil || a.Fault.Fo03.Body.Code == "" {
				t.Fatalf("500 without Fo03 code: %s", body)
			}
			if n := len(h.store.stored()) - before; n != 0 {
				t.Fatalf("refused, yet %d stored", n)
			}
		default:
			t.Fatalf("status %d", status)
		}
	})
}

// FuzzVerify feeds arbitrary bytes, and mutations of a signed message, to
// the signature check: it must never panic and never accept a message it
// did not see signed.
func FuzzVerify(f *testing.F) {
	s, cert := rsaSigner(f)
	signed, err := stuf.Build(stuf.Addressing{Action: stuf.ActionDi01, To: "x"}, []byte(`<a xmlns="urn:x">b</a>`), s, time.Now())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(signed)
	f.Add([]byte(`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"/>`))
	f.Fuzz(func(t *testing.T, msg []byte) {
		err := stuf.Verifier{}.Verify(msg, cert)
		if err == nil && !bytes.Equal(msg, signed) {
			// Whitespace outside the signed parts may change; the body
			// and the action may not.
			for _, part := range [][]byte{[]byte(`<a xmlns="urn:x">b</a>`), []byte(">" + stuf.ActionDi01 + "<")} {
				if !bytes.Contains(msg, part) {
					t.Fatalf("accepted a message whose signed parts changed: %q", msg)
				}
			}
		}
		var fault *stuf.Fault
		if err != nil && !errors.As(err, &fault) {
			t.Fatalf("error is not a Fault: %v", err)
		}
	})
}

// FuzzReadAnswer reads arbitrary answers of push endpoints without panic.
func FuzzReadAnswer(f *testing.F) {
	f.Add([]byte(`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault><detail/></soap:Fault></soap:Body></soap:Envelope>`))
	f.Fuzz(func(t *testing.T, msg []byte) {
		stuf.ReadAnswer(msg)
		stuf.ReadEnvelope(msg)
	})
}

func soortF(f *testing.F, name string) (s sampleSoort) {
	s, ok := lookup(name)
	if !ok {
		f.Fatal(name)
	}
	return s
}
