package gateway_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/rs/zerolog"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/gateway"
)

// The benchmarks measure what the gateway itself adds to a post: the
// adapter, authentication, metrics, the log line and the JSON answer, with
// ports that cost next to nothing.

type fixedValidator struct{ h bericht.Header }

func (v fixedValidator) Validate(context.Context, []byte) (bericht.Header, error) { return v.h, nil }

func (v fixedValidator) ValidateRules(context.Context, []byte) (bericht.Header, []gateway.Finding, *bericht.Tree, error) {
	return v.h, nil, nil, nil
}

type fixedRouter struct{}

func (fixedRouter) Route(context.Context, gateway.Principal, bericht.Header) (gateway.Route, error) {
	return gateway.Route{Recipient: "42420001", Mailbox: "42420001"}, nil
}

type countingStore struct {
	fakeStore
	n atomic.Int64
}

func (s *countingStore) Put(ctx context.Context, m gateway.Message) (gateway.Receipt, error) {
	return gateway.Receipt{ID: fmt.Sprint(s.n.Add(1))}, nil
}

func BenchmarkPostBericht(b *testing.B) {
	s, _ := bericht.Lookup("WMO301")
	body := bytes.Repeat([]byte("x"), 4096)
	for _, logging := range []bool{false, true} {
		b.Run(fmt.Sprintf("log=%v", logging), func(b *testing.B) {
			log := zerolog.Nop()
			if logging {
				log = zerolog.New(io.Discard)
			}
			srv, err := gateway.New(gateway.Config{
				AllowTokens: true, Logger: log,
				Validator: fixedValidator{bericht.Header{Soort: s, Afzender: "0384", Ontvanger: "42420001", Identificatie: "X"}},
				Router:    fixedRouter{}, Store: &countingStore{}, Parties: newParties(),
				Limits: gateway.Limits{Rate: 1e9, Burst: 1 << 30}, // the limiter's cost is measured, its refusals not
			})
			if err != nil {
				b.Fatal(err)
			}
			h := srv.Handler()
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req := httptest.NewRequest(http.MethodPost, "/v1/berichten", bytes.NewReader(body))
					req.Header.Set("Authorization", "Bearer tok-0384")
					req.Header.Set("Content-Type", "application/xml")
					w := httptest.NewRecorder()
					h.ServeHTTP(w, req)
					if w.Code != http.StatusAccepted {
						b.Fatalf("status %d: %s", w.Code, w.Body)
					}
				}
			})
		})
	}
}
