package samenloop

import (
	"errors"
	"time"
)

// errBadDate deliberately quotes nothing: a misplaced column could hold a BSN.
var errBadDate = errors.New("not a date YYYY-MM-DD")

// day is a calendar date as days since 1970-01-01; 0 means no date.
// Register and toewijzing dates are kept this small so that a million
// toewijzingen fit comfortably in memory.
type day int32

const dateLayout = "2006-01-02"

// parseDay parses YYYY-MM-DD.
func parseDay(s string) (day, error) {
	t, err := time.Parse(dateLayout, s)
	if err != nil {
		return 0, errBadDate
	}
	return dayOf(t), nil
}

// dayOf is the calendar day of t in t's location.
func dayOf(t time.Time) day {
	y, m, d := t.Date()
	return day(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// String formats d as YYYY-MM-DD, or "" for no date.
func (d day) String() string {
	if d == 0 {
		return ""
	}
	return time.Unix(int64(d)*86400, 0).UTC().Format(dateLayout)
}
