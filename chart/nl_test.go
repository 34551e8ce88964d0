package chart

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func day(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t
}

// TestDutchNumbers: numbers, amounts, dates and durations are written the
// Dutch way.
func TestDutchNumbers(t *testing.T) {
	for _, tt := range []struct{ got, want string }{
		{Int(int64(0)), "0"},
		{Int(int64(999)), "999"},
		{Int(int64(1234567)), "1.234.567"},
		{Int(int64(-1234)), "-1.234"},
		{Int(2.6), "3"},
		{Decimal(1234.56, 1), "1.234,6"},
		{Decimal(-0.04, 1), "0,0"},
		{Percent(12.4), "12%"},
		{Euro(5), "€ 0,05"},
		{Euro(123456789), "€ 1.234.567,89"},
		{Euro(-1250), "€ -12,50"},
		{Date(day("2026-12-07")), "7 december 2026"},
		{DateTime(day("2026-12-07").Add(14*time.Hour + 5*time.Minute)), "7 december 2026 14:05"},
		{Week(day("2026-09-21")), "week 39 (21 september 2026)"},
		{Duration(850 * time.Millisecond), "850 ms"},
		{Duration(12 * time.Second), "12 s"},
		{Duration(4 * time.Minute), "4 min"},
		{Duration(3 * time.Hour), "3 uur"},
		{Duration(50 * time.Hour), "2 dagen"},
		{Seconds(0.0004), "0,4 ms"},
		{Seconds(0.012), "12 ms"},
		{Seconds(1.26), "1,3 s"},
	} {
		assert.Equal(t, tt.want, tt.got)
	}
}

func TestNiceCeil(t *testing.T) {
	for _, tt := range []struct{ in, want float64 }{{0, 4}, {3, 4}, {5, 8}, {9, 20}, {41, 80}, {42, 80}, {120, 200}, {3999, 4000}} {
		assert.Equal(t, tt.want, NiceCeil(tt.in), "%v", tt.in)
	}
	for _, tt := range []struct{ in, want float64 }{{0, 1}, {0.03, 0.04}, {0.0011, 0.002}, {0.25, 0.4}, {3, 4}} {
		assert.InDelta(t, tt.want, NiceCeilFine(tt.in), 1e-12, "%v", tt.in)
	}
}
