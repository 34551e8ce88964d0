package gateway

import (
	"fmt"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the gateway's Prometheus series. Every label is bounded: the
// route pattern, the outcome code (a closed catalogue), the berichtsoort
// (28 names and "unknown"). No party, id or message value is ever a label.
type metrics struct {
	requests  *prometheus.CounterVec   // route, code
	duration  *prometheus.HistogramVec // route
	inFlight  prometheus.Gauge
	berichten *prometheus.CounterVec   // berichtsoort, outcome
	bytes     *prometheus.CounterVec   // berichtsoort
	ingest    *prometheus.HistogramVec // berichtsoort: validate+route+store of accepted messages
	tlsFailed *prometheus.CounterVec   // reason: failed TLS handshakes (tlslog.go)
	// validationAbandoned counts validations given up at their deadline.
	validationAbandoned prometheus.Counter
	// certExpiry is when the certificate in use expires, by kind.
	certExpiry *prometheus.GaugeVec
}

const unknownSoort = "unknown"

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "knooppunt", Subsystem: "http", Name: "requests_total",
			Help: "HTTP requests by route pattern and outcome code: ok, stored or duplicate when served, else the error code answered.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "knooppunt", Subsystem: "http", Name: "request_duration_seconds",
			Help:    "Time from request headers read to response written, by route pattern.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "knooppunt", Subsystem: "http", Name: "requests_in_flight",
			Help: "Requests being served.",
		}),
		berichten: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "knooppunt", Subsystem: "gateway", Name: "berichten_total",
			Help: "Messages posted (single or in a batch) by berichtsoort and outcome: stored, duplicate, or the refusal code.",
		}, []string{"berichtsoort", "outcome"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "knooppunt", Subsystem: "gateway", Name: "stored_bytes_total",
			Help: "Bytes of the messages stored, by berichtsoort.",
		}, []string{"berichtsoort"}),
		ingest: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "knooppunt", Subsystem: "gateway", Name: "ingest_duration_seconds",
			Help:    "Time to validate, route and durably store one accepted message, by berichtsoort.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
		}, []string{"berichtsoort"}),
		tlsFailed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "knooppunt", Subsystem: "tls", Name: "handshake_failures_total",
			Help: "TLS handshakes the switch's TLS listeners (the API, the StUF-GGk endpoint, the products' listener) failed, by reason (unknown-ca, expired, no-certificate, bad-certificate, client-refused, protocol, not-tls, timeout, closed, other).",
		}, []string{"reason"}),
		validationAbandoned: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "knooppunt", Subsystem: "validation", Name: "abandoned_total",
			Help: "Validations given up at their deadline (ValidationTimeout), waiting for a slot included; each answered 503 validation-busy.",
		}),
		certExpiry: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "knooppunt", Subsystem: "tls", Name: "certificate_expiry_seconds",
			Help: "When the certificate in use expires (NotAfter), as Unix time, by kind.",
		}, []string{"kind"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.inFlight, m.berichten, m.bytes, m.ingest, m.tlsFailed, m.validationAbandoned, m.certExpiry} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("registering gateway metrics: %w", err)
		}
	}
	// Pre-create the series of the known berichtsoorten so dashboards see
	// zeros rather than gaps.
	for _, s := range bericht.All() {
		m.berichten.WithLabelValues(s.Name, "stored")
		m.bytes.WithLabelValues(s.Name)
	}
	for _, r := range handshakeReasons {
		m.tlsFailed.WithLabelValues(r)
	}
	return m, nil
}

// soortLabel bounds a berichtsoort label to the catalogue.
func soortLabel(name string) string {
	if _, ok := bericht.Lookup(name); ok && name != "" {
		return name
	}
	return unknownSoort
}
