package chart

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// maanden are the Dutch names of the months.
var maanden = [...]string{"januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus",
	"september", "oktober", "november", "december"}

// Date writes a day the Dutch way: 7 december 2026.
func Date(t time.Time) string {
	return fmt.Sprintf("%d %s %d", t.Day(), maanden[t.Month()-1], t.Year())
}

// DateTime writes a moment to the minute: 7 december 2026 14:05.
func DateTime(t time.Time) string {
	return fmt.Sprintf("%s %02d:%02d", Date(t), t.Hour(), t.Minute())
}

// Week names the ISO week that starts on monday: week 39 (21 september
// 2026).
func Week(monday time.Time) string {
	_, w := monday.ISOWeek()
	return fmt.Sprintf("week %d (%s)", w, Date(monday))
}

// Int writes n, rounded, with a point between thousands: 1.234.567.
func Int[T int | int64 | float64](n T) string { return Decimal(float64(n), 0) }

// Decimal writes x with decimals digits after a decimal comma and a point
// between thousands: 1.234,5.
func Decimal(x float64, decimals int) string {
	whole, frac, _ := strings.Cut(strconv.FormatFloat(x, 'f', decimals, 64), ".")
	neg := strings.HasPrefix(whole, "-")
	whole = strings.TrimPrefix(whole, "-")
	var b strings.Builder
	if neg && strings.Trim(whole+frac, "0") != "" {
		b.WriteByte('-')
	}
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte('.')
		}
		b.WriteRune(c)
	}
	if frac != "" {
		b.WriteString("," + frac)
	}
	return b.String()
}

// Percent writes a percentage without decimals: 12%.
func Percent(p float64) string { return Decimal(p, 0) + "%" }

// Euro writes an amount in cents as euros: € 1.234,56, € -12,00.
func Euro(cents int64) string {
	sign := ""
	if cents < 0 {
		sign, cents = "-", -cents
	}
	return fmt.Sprintf("€ %s%s,%02d", sign, Int(cents/100), cents%100)
}

// Duration writes a duration for people, in its largest sensible unit:
// 850 ms, 12 s, 4 min, 3 uur, 2 dagen.
func Duration(d time.Duration) string {
	switch {
	case d < time.Second:
		return Int(float64(d)/float64(time.Millisecond)) + " ms"
	case d < 2*time.Minute:
		return Int(d.Seconds()) + " s"
	case d < 2*time.Hour:
		return Int(d.Minutes()) + " min"
	case d < 48*time.Hour:
		return Int(d.Hours()) + " uur"
	default:
		return Int(d.Hours()/24) + " dagen"
	}
}

// Seconds writes a latency given in seconds: 0,4 ms, 12 ms, 1,2 s.
func Seconds(s float64) string {
	switch {
	case s < 0.01:
		return Decimal(s*1000, 1) + " ms"
	case s < 1:
		return Int(s*1000) + " ms"
	default:
		return Decimal(s, 1) + " s"
	}
}
