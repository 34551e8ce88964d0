package stuurinfo

import (
	"sync"
	"time"
)

// Werkdagen are Dutch working days: Monday to Friday except the national
// holidays of the Algemene termijnenwet (art. 3), which sets the deadlines of
// Dutch administrative law and so is the natural reading of "werkdagen" in
// the norms of the iStandaarden: Nieuwjaarsdag, Tweede Paasdag (Eerste
// Paasdag is a Sunday), Hemelvaartsdag, Tweede Pinksterdag, Eerste en Tweede
// Kerstdag, Koningsdag (27 April, 26 April when the 27th is a Sunday) and
// Bevrijdingsdag, 5 May, every year — the Algemene termijnenwet counts it
// every year, unlike many CAOs, which free it only in lustrum years. Goede
// Vrijdag is not a holiday there and is a working day here.

// IsWerkdag reports whether the calendar day of t (in t's location) is a
// Dutch working day.
func IsWerkdag(t time.Time) bool {
	switch t.Weekday() {
	case time.Saturday, time.Sunday:
		return false
	}
	y, m, d := t.Date()
	return !holidays(y)[dayOfYear{m, d}]
}

// Werkdagen counts the working days after the calendar day of from up to
// and including that of to: an answer on the next working day took 1, an
// answer the same day 0. It is 0 when to is not after from. Both times are
// taken in from's location.
func Werkdagen(from, to time.Time) int {
	to = to.In(from.Location())
	a := civil(from)
	b := civil(to)
	if !b.After(a) {
		return 0
	}
	n := 0
	// Whole weeks have 5 weekdays; only holidays inside them need a look.
	for d := a.AddDate(0, 0, 1); !d.After(b); d = d.AddDate(0, 0, 1) {
		if IsWerkdag(d) {
			n++
		}
	}
	return n
}

// civil is t's calendar day at midnight UTC, so AddDate steps whole days.
func civil(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

type dayOfYear struct {
	m time.Month
	d int
}

var holidayCache sync.Map // int year → map[dayOfYear]bool

// holidays returns the national holidays of year that can fall on a
// weekday.
func holidays(year int) map[dayOfYear]bool {
	if h, ok := holidayCache.Load(year); ok {
		return h.(map[dayOfYear]bool)
	}
	easter := Easter(year)
	at := func(days int) dayOfYear {
		t := easter.AddDate(0, 0, days)
		return dayOfYear{t.Month(), t.Day()}
	}
	koningsdag := dayOfYear{time.April, 27}
	if time.Date(year, time.April, 27, 0, 0, 0, 0, time.UTC).Weekday() == time.Sunday {
		koningsdag.d = 26
	}
	h := map[dayOfYear]bool{
		{time.January, 1}:   true, // Nieuwjaarsdag
		at(1):               true, // Tweede Paasdag
		koningsdag:          true,
		{time.May, 5}:       true, // Bevrijdingsdag
		at(39):              true, // Hemelvaartsdag
		at(50):              true, // Tweede Pinksterdag
		{time.December, 25}: true, // Eerste Kerstdag
		{time.December, 26}: true, // Tweede Kerstdag
	}
	holidayCache.Store(year, h)
	return h
}

// Easter returns Easter Sunday of year in the Gregorian calendar (the
// anonymous Gregorian computus of Meeus/Jones/Butcher), at midnight UTC.
func Easter(year int) time.Time {
	a := year % 19
	b, c := year/100, year%100
	d, e := b/4, b%4
	f := (b + 8) / 25
	g := (b - f + 1) / 3
	h := (19*a + b - d - g + 15) % 30
	i, k := c/4, c%4
	l := (32 + 2*e + 2*i - h - k) % 7
	m := (a + 11*h + 22*l) / 451
	month := (h + l - 7*m + 114) / 31
	day := (h+l-7*m+114)%31 + 1
	return time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC)
}
