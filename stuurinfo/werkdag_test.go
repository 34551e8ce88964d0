package stuurinfo

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func date(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestEaster(t *testing.T) {
	// Known Easter Sundays, including the computus's edge years.
	for _, want := range []string{"1818-03-22", "1886-04-25", "1943-04-25", "2000-04-23",
		"2008-03-23", "2019-04-21", "2024-03-31", "2025-04-20", "2026-04-05", "2027-03-28", "2038-04-25"} {
		d := date(want)
		assert.Equal(t, want, Easter(d.Year()).Format("2006-01-02"))
	}
}

func TestIsWerkdag(t *testing.T) {
	tests := []struct {
		day  string
		want bool
		why  string
	}{
		{"2026-01-01", false, "Nieuwjaarsdag"},
		{"2026-01-02", true, "Friday"},
		{"2026-01-03", false, "Saturday"},
		{"2026-04-03", true, "Goede Vrijdag is a working day"},
		{"2026-04-06", false, "Tweede Paasdag"},
		{"2026-04-27", false, "Koningsdag on a Monday"},
		{"2025-04-26", false, "Koningsdag 2025 is Saturday 26 April (27th a Sunday)"},
		{"2025-04-28", true, "no Monday after a Sunday Koningsdag"},
		{"2026-05-05", false, "Bevrijdingsdag every year (Algemene termijnenwet)"},
		{"2026-05-14", false, "Hemelvaartsdag"},
		{"2026-05-25", false, "Tweede Pinksterdag"},
		{"2026-12-25", false, "Eerste Kerstdag"},
		{"2026-12-28", true, "Monday after Christmas"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, IsWerkdag(date(tt.day)), "%s: %s", tt.day, tt.why)
	}
}

func TestWerkdagen(t *testing.T) {
	tests := []struct {
		from, to string
		want     int
	}{
		{"2026-03-02", "2026-03-02", 0},
		{"2026-03-02", "2026-03-03", 1},
		{"2026-03-06", "2026-03-09", 1},   // Friday → Monday
		{"2026-03-02", "2026-03-09", 5},   // a week
		{"2026-04-02", "2026-04-07", 2},   // Thu → Tue over Easter: Fri, Tue
		{"2026-12-24", "2026-12-29", 2},   // Christmas: Mon 28, Tue 29
		{"2026-03-09", "2026-03-02", 0},   // backwards
		{"2026-01-01", "2026-12-31", 254}, // 261 weekdays less 7 weekday holidays (26 Dec is a Saturday)
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, Werkdagen(date(tt.from), date(tt.to)), "%s → %s", tt.from, tt.to)
	}
}
