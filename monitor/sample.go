package monitor

import (
	"math"
	"sort"
	"strconv"
	"strings"

	dto "github.com/prometheus/client_model/go"
)

// Series the sampler keeps, by the metrics they are read from.
const (
	seriesStored       = "stored"         // knooppunt_gateway_berichten_total{outcome="stored"}
	refusedPrefix      = "refused:"       // + code: answers other than ok, StUF faults, failed TLS handshakes
	latencyPrefix      = "latency:"       // + upper bound: API answers within it (histogram, cumulative)
	seriesPending      = "pending"        // gauge knooppunt_store_pending_messages
	seriesQuarantined  = "quarantined"    // gauge knooppunt_store_quarantined_messages
	seriesFeed         = "feed"           // gauge knooppunt_store_feed_changes
	seriesOutboxMoved  = "outbox-moved"   // knooppunt_audit_receptions_recorded_total
	seriesOutboxErrors = "outbox-errors"  // knooppunt_audit_reception_errors_total
	seriesPushOK       = "push-delivered" // knooppunt_delivery_attempts_total{outcome="delivered"}
	seriesPushFailed   = "push-failed"    // knooppunt_delivery_attempts_total, other outcomes
)

// notAPI are the routes left out of the latency: probes, scrapes and the
// pages, which say nothing about how the switch answers its parties.
var notAPI = map[string]bool{"/metrics": true, "/healthz": true, "/readyz": true,
	"/dashboard": true, "/operations": true, "/login": true, "/logout": true}

// served are the outcome codes of knooppunt_http_requests_total that are
// no refusal; every other code is the error answered.
var served = map[string]bool{"ok": true, "stored": true, "duplicate": true}

// reading is one sample of the metrics: counters as totals since the
// process started, gauges as they are.
type reading struct {
	counters map[string]float64
	gauges   map[string]float64
}

// read picks the series the page needs out of gathered metric families.
func read(families []*dto.MetricFamily) reading {
	r := reading{counters: map[string]float64{}, gauges: map[string]float64{}}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			l := labels(m)
			switch f.GetName() {
			case "knooppunt_gateway_berichten_total":
				if l["outcome"] == "stored" {
					r.counters[seriesStored] += m.GetCounter().GetValue()
				}
			case "knooppunt_http_requests_total":
				if code := l["code"]; !served[code] && code != "" {
					r.counters[refusedPrefix+code] += m.GetCounter().GetValue()
				}
			case "knooppunt_stuf_requests_total":
				if o := l["outcome"]; o != "bv03" && o != "" {
					r.counters[refusedPrefix+"stuf-"+o] += m.GetCounter().GetValue()
				}
			case "knooppunt_tls_handshake_failures_total":
				r.counters[refusedPrefix+"tls-"+l["reason"]] += m.GetCounter().GetValue()
			case "knooppunt_http_request_duration_seconds":
				if notAPI[l["route"]] {
					continue
				}
				h := m.GetHistogram()
				for _, b := range h.GetBucket() {
					r.counters[latencyPrefix+bound(b.GetUpperBound())] += float64(b.GetCumulativeCount())
				}
				r.counters[latencyPrefix+"+Inf"] += float64(h.GetSampleCount())
			case "knooppunt_store_pending_messages":
				r.gauges[seriesPending] += m.GetGauge().GetValue()
			case "knooppunt_store_quarantined_messages":
				r.gauges[seriesQuarantined] += m.GetGauge().GetValue()
			case "knooppunt_store_feed_changes":
				r.gauges[seriesFeed] += m.GetGauge().GetValue()
			case "knooppunt_audit_receptions_recorded_total":
				r.counters[seriesOutboxMoved] += m.GetCounter().GetValue()
			case "knooppunt_audit_reception_errors_total":
				r.counters[seriesOutboxErrors] += m.GetCounter().GetValue()
			case "knooppunt_delivery_attempts_total":
				if l["outcome"] == "delivered" {
					r.counters[seriesPushOK] += m.GetCounter().GetValue()
				} else {
					r.counters[seriesPushFailed] += m.GetCounter().GetValue()
				}
			}
		}
	}
	return r
}

func labels(m *dto.Metric) map[string]string {
	out := make(map[string]string, len(m.GetLabel()))
	for _, p := range m.GetLabel() {
		out[p.GetName()] = p.GetValue()
	}
	return out
}

func bound(le float64) string {
	if math.IsInf(le, 1) {
		return "+Inf"
	}
	return strconv.FormatFloat(le, 'g', -1, 64)
}

// increases are the counters' growth from prev to now. A counter lower
// than before was reset (the process restarted), so all of it is new.
func increases(prev, now map[string]float64) map[string]float64 {
	out := make(map[string]float64, len(now))
	for name, v := range now {
		d := v - prev[name]
		if d < 0 {
			d = v
		}
		out[name] = d // zeros too: a latency bucket's bound matters when empty
	}
	return out
}

// bucket is one latency bucket: answers within upper seconds.
type bucket struct {
	upper float64
	count float64 // cumulative
}

// latencyBuckets turns the latency series of one span (summed over the
// buckets asked for) into a cumulative histogram.
func latencyBuckets(sum map[string]float64) []bucket {
	var out []bucket
	for name, v := range sum {
		le, ok := strings.CutPrefix(name, latencyPrefix)
		if !ok {
			continue
		}
		u := math.Inf(1)
		if le != "+Inf" {
			var err error
			if u, err = strconv.ParseFloat(le, 64); err != nil {
				continue
			}
		}
		out = append(out, bucket{u, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].upper < out[j].upper })
	return out
}

// quantile estimates the q-quantile of a cumulative histogram as
// Prometheus's histogram_quantile does: linearly within the bucket that
// holds it, and the highest finite bound when it falls in the last one.
// It returns -1 when the histogram is empty.
func quantile(q float64, buckets []bucket) float64 {
	if len(buckets) == 0 {
		return -1
	}
	total := buckets[len(buckets)-1].count
	if total == 0 {
		return -1
	}
	rank := q * total
	lower, below := 0.0, 0.0
	for _, b := range buckets {
		if b.count >= rank {
			if math.IsInf(b.upper, 1) {
				return lower
			}
			in := b.count - below
			if in <= 0 {
				return b.upper
			}
			return lower + (b.upper-lower)*(rank-below)/in
		}
		lower, below = b.upper, b.count
	}
	return lower
}
