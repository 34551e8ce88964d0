package rules

import "strings"

// date is a calendar date as xs:date writes it, without time zone (RS032:
// the XSD refuses one).
type date struct{ y, m, d int }

// parseDate reads YYYY-MM-DD (a year of four or more digits, possibly
// negative, as xs:date allows). It reports false for anything else, so a
// rule never fires on a date it cannot read.
func parseDate(s string) (date, bool) {
	s = strings.TrimSpace(s)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	if len(s) < 10 || len(s) > 16 || s[len(s)-6] != '-' || s[len(s)-3] != '-' {
		return date{}, false
	}
	y, ok1 := digits(s[:len(s)-6])
	m, ok2 := digits(s[len(s)-5 : len(s)-3])
	d, ok3 := digits(s[len(s)-2:])
	if !ok1 || !ok2 || !ok3 || m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return date{}, false
	}
	if neg {
		y = -y
	}
	return date{y, m, d}, true
}

func digits(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// cmp orders dates: negative when a is before b.
func (a date) cmp(b date) int {
	if a.y != b.y {
		return a.y - b.y
	}
	if a.m != b.m {
		return a.m - b.m
	}
	return a.d - b.d
}

func (a date) before(b date) bool { return a.cmp(b) < 0 }
func (a date) after(b date) bool  { return a.cmp(b) > 0 }

// addYears moves a by n years; 29 February becomes 28 February in a
// common year.
func (a date) addYears(n int) date {
	r := date{a.y + n, a.m, a.d}
	if r.d > daysIn(r.y, r.m) {
		r.d = daysIn(r.y, r.m)
	}
	return r
}

// lastOfMonth tells whether a is the last day of its month.
func (a date) lastOfMonth() bool { return a.d == daysIn(a.y, a.m) }

// endOf2020 is 31-12-2020, the boundary of CD080, CD095, CD096, CS338, CS343.
var endOf2020 = date{2020, 12, 31}

// startOf2021 is 01-01-2021, the lower bound of CS100.
var startOf2021 = date{2021, 1, 1}
