package chart

import (
	"fmt"
	"html"
	"html/template"
	"strings"
)

// Colours of the charts.
const (
	Blue   = "#2a6fb0" // bars, and the first line
	Green  = "#2f8f4e" // shares within a norm
	Orange = "#d0731c" // the second line
	grid   = "#d8dce6"
)

// Geometry of the vertical charts.
const (
	width, height       = 720.0, 220.0
	left, bottom, top   = 56.0, 28.0, 12.0
	plotHeight          = height - bottom - top
	maxLabels           = 12 // x labels written at most; the others are in the tooltips
	labelFont, axisFont = 10, 10
)

// Bars renders a vertical bar chart, its values and scale written by
// format. max 0 scales to the largest value. With many bars only every
// so many is labelled below; each bar's tooltip names it.
func Bars(id, title string, labels []string, values []float64, format func(float64) string, max float64) template.HTML {
	if max == 0 {
		max = NiceCeil(largest(values))
	}
	var b strings.Builder
	open(&b, id, title)
	axis(&b, max, format)
	slot := (width - left) / float64(max1(len(values)))
	every := labelEvery(len(values))
	for i, v := range values {
		bh := plotHeight * v / max
		x := left + slot*float64(i) + slot*0.15
		fmt.Fprintf(&b, `<rect class="bar" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s: %s</title></rect>`,
			x, top+plotHeight-bh, slot*0.7, bh, Blue, html.EscapeString(labels[i]), html.EscapeString(format(v)))
		if i%every == 0 {
			xLabel(&b, x+slot*0.35, labels[i])
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // every text is escaped
}

// Series is one line of a line chart.
type Series struct {
	Name   string
	Colour string
	// Values has one point per label; a negative value is a gap (nothing
	// measured then).
	Values []float64
}

// Lines renders series as lines over the labels, with a legend, the scale
// written by format.
func Lines(id, title string, labels []string, series []Series, format func(float64) string) template.HTML {
	var all []float64
	for _, s := range series {
		all = append(all, s.Values...)
	}
	max := NiceCeilFine(largest(all))
	var b strings.Builder
	open(&b, id, title)
	axis(&b, max, format)
	step := (width - left) / float64(max1(len(labels)))
	every := labelEvery(len(labels))
	for i, l := range labels {
		if i%every == 0 {
			xLabel(&b, left+step*(float64(i)+0.5), l)
		}
	}
	for k, s := range series {
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" font-size="11" fill="%s">%s</text>`,
			left+8+float64(k)*90, top+10, s.Colour, html.EscapeString(s.Name))
		var path strings.Builder
		pen := false
		for i, v := range s.Values {
			if v < 0 {
				pen = false
				continue
			}
			x, y := left+step*(float64(i)+0.5), top+plotHeight-plotHeight*v/max
			cmd := 'L'
			if !pen {
				cmd = 'M'
			}
			fmt.Fprintf(&path, "%c%.1f %.1f ", cmd, x, y)
			pen = true
			fmt.Fprintf(&b, `<circle class="point" cx="%.1f" cy="%.1f" r="2" fill="%s"><title>%s %s: %s</title></circle>`,
				x, y, s.Colour, html.EscapeString(s.Name), html.EscapeString(labels[i]), html.EscapeString(format(v)))
		}
		if path.Len() > 0 {
			fmt.Fprintf(&b, `<path class="line" d="%s" fill="none" stroke="%s" stroke-width="2"/>`, strings.TrimSpace(path.String()), s.Colour)
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // every text is escaped
}

// HBars renders percentages as horizontal bars, one per label. A negative
// percentage means nothing was measured.
func HBars(id, title string, labels []string, pct []float64) template.HTML {
	const w, rowH, left = 720.0, 30.0, 260.0
	h := rowH*float64(len(pct)) + 10
	var b strings.Builder
	fmt.Fprintf(&b, `<svg id="%s" xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" role="img" aria-label="%s">`,
		html.EscapeString(id), w, h, w, h, html.EscapeString(title))
	for i, v := range pct {
		y := 5 + rowH*float64(i)
		fmt.Fprintf(&b, `<text x="0" y="%.1f" font-size="12" fill="#333">%s</text>`, y+17, html.EscapeString(labels[i]))
		fmt.Fprintf(&b, `<rect x="%.0f" y="%.1f" width="%.1f" height="20" fill="%s"/>`, left, y+3, w-left-60, grid)
		if v < 0 {
			fmt.Fprintf(&b, `<text x="%.0f" y="%.1f" font-size="12" fill="#333">–</text>`, w-52, y+17)
			continue
		}
		fmt.Fprintf(&b, `<rect class="bar" x="%.0f" y="%.1f" width="%.1f" height="20" fill="%s"/>`, left, y+3, (w-left-60)*v/100, Green)
		fmt.Fprintf(&b, `<text x="%.0f" y="%.1f" font-size="12" fill="#333">%s</text>`, w-52, y+17, Percent(v))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // every text is escaped
}

// NiceCeil rounds v up to 4, 8, 20 or 40 times a power of ten (at least
// 4), so the four grid lines of a chart of counts fall on round numbers.
func NiceCeil(v float64) float64 {
	if v <= 4 {
		return 4
	}
	return niceAbove(v)
}

// NiceCeilFine is NiceCeil for measurements below 4, such as latencies in
// seconds: 0.004, 0.02, 0.4 and so on.
func NiceCeilFine(v float64) float64 {
	if v <= 0 {
		return 1
	}
	return niceAbove(v)
}

func niceAbove(v float64) float64 {
	p := 1.0
	for p*4 >= v && p > 1e-9 {
		p /= 10
	}
	for p*40 < v {
		p *= 10
	}
	for _, m := range []float64{4, 8, 20, 40} {
		if m*p >= v {
			return m * p
		}
	}
	return 40 * p
}

func open(b *strings.Builder, id, title string) {
	fmt.Fprintf(b, `<svg id="%s" xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" role="img" aria-label="%s">`,
		html.EscapeString(id), width, height, width, height, html.EscapeString(title))
}

// axis draws the four grid lines and their values.
func axis(b *strings.Builder, max float64, format func(float64) string) {
	for i := 0; i <= 4; i++ {
		y := top + plotHeight*float64(i)/4
		fmt.Fprintf(b, `<line x1="%.0f" y1="%.1f" x2="%.0f" y2="%.1f" stroke="%s"/>`, left, y, width, y, grid)
		fmt.Fprintf(b, `<text x="%.0f" y="%.1f" font-size="%d" text-anchor="end" fill="#555">%s</text>`,
			left-4, y+3, axisFont, html.EscapeString(format(max*float64(4-i)/4)))
	}
}

func xLabel(b *strings.Builder, x float64, label string) {
	fmt.Fprintf(b, `<text x="%.1f" y="%.0f" font-size="%d" text-anchor="middle" fill="#333">%s</text>`,
		x, height-10, labelFont, html.EscapeString(label))
}

// labelEvery is how many points share one x label.
func labelEvery(n int) int {
	return max(1, (n+maxLabels-1)/maxLabels)
}

func largest(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = max(m, x)
	}
	return m
}

func max1(n int) int { return max(1, n) }
