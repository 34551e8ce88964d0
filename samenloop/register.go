package samenloop

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Status is a person's status in the Wlz register.
type Status uint8

// The statuses of the register, as the CIZ names them.
const (
	// StatusGeen means not in the register: no Wlz indicatie known.
	StatusGeen Status = iota
	// StatusJa means a Wlz indicatie.
	StatusJa
	// StatusNee means a negative decision after an earlier positive one.
	StatusNee
	// StatusOnbekend marks profiles where Wmo care may continue depending
	// on how the indicatie is used (e.g. low ZZP's, GGZ-B).
	StatusOnbekend
)

var statusNames = [...]string{StatusGeen: "geen", StatusJa: "ja", StatusNee: "nee", StatusOnbekend: "onbekend"}

// String returns the status as the CSV and the signal write it.
func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return fmt.Sprintf("status(%d)", uint8(s))
}

// wlz reports whether the status means a Wlz indicatie that can overlap
// Wmo care: ja or onbekend.
func (s Status) wlz() bool { return s == StatusJa || s == StatusOnbekend }

// RegisterHeader is the required first line of a register CSV.
const RegisterHeader = "bsn,wlz_status,afgiftedatum,ingangsdatum,einddatum"

// Entry is one person of the Wlz register copy.
type Entry struct {
	BSN                    uint32
	Status                 Status
	Afgifte, Ingang, Einde day
}

// Register is an imported copy of the Wlz register, by BSN.
type Register map[uint32]Entry

// LineError is one refused line of a register file. Reason never quotes
// the line's content (it may hold a BSN).
type LineError struct {
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

// ImportError refuses a register file: every bad line with its reason.
// Nothing of a refused file is imported.
type ImportError struct {
	Lines []LineError
}

// CodeRegisterInvalid is the stable code of an *ImportError.
const CodeRegisterInvalid = "wlz-register-invalid"

func (e *ImportError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "wlz register refused: %d bad line(s)", len(e.Lines))
	for i, l := range e.Lines {
		if i == 10 {
			fmt.Fprintf(&b, "; …")
			break
		}
		fmt.Fprintf(&b, "; line %d: %s", l.Line, l.Reason)
	}
	return b.String()
}

// ParseRegister reads a register CSV (header RegisterHeader; wlz_status ja,
// nee or onbekend; dates YYYY-MM-DD, einddatum may be empty; every BSN
// passes the elfproef and occurs once). Any bad line refuses the whole
// file with an *ImportError listing every bad line.
func ParseRegister(r io.Reader) (Register, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	reg := make(Register)
	first := make(map[uint32]int)
	var bad []LineError
	line := 0
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line++
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				bad = append(bad, LineError{Line: pe.Line, Reason: "malformed CSV: " + pe.Err.Error()})
				line = pe.Line
				continue
			}
			return nil, fmt.Errorf("reading wlz register: %w", err)
		}
		if line == 1 {
			if strings.TrimPrefix(strings.Join(rec, ","), "\ufeff") != RegisterHeader {
				return nil, &ImportError{Lines: []LineError{{Line: 1, Reason: "header must be " + RegisterHeader}}}
			}
			continue
		}
		e, reason := parseEntry(rec)
		if reason == "" {
			if at, dup := first[e.BSN]; dup {
				reason = fmt.Sprintf("bsn already on line %d", at)
			}
		}
		if reason != "" {
			bad = append(bad, LineError{Line: line, Reason: reason})
			continue
		}
		first[e.BSN] = line
		reg[e.BSN] = e
	}
	if line == 0 {
		return nil, &ImportError{Lines: []LineError{{Line: 1, Reason: "empty file: header " + RegisterHeader + " missing"}}}
	}
	if len(bad) > 0 {
		return nil, &ImportError{Lines: bad}
	}
	return reg, nil
}

// parseEntry checks one data line; reason is empty when it is good.
func parseEntry(rec []string) (e Entry, reason string) {
	if len(rec) != 5 {
		return e, fmt.Sprintf("%d fields, want 5", len(rec))
	}
	bsn, ok := parseBSN(rec[0])
	if !ok {
		return e, "bsn is not 9 digits passing the elfproef"
	}
	e.BSN = bsn
	switch rec[1] {
	case "ja":
		e.Status = StatusJa
	case "nee":
		e.Status = StatusNee
	case "onbekend":
		e.Status = StatusOnbekend
	default:
		return e, "wlz_status must be ja, nee or onbekend"
	}
	var err error
	if e.Afgifte, err = parseDay(rec[2]); err != nil {
		return e, "afgiftedatum " + err.Error()
	}
	if e.Ingang, err = parseDay(rec[3]); err != nil {
		return e, "ingangsdatum " + err.Error()
	}
	if rec[4] != "" {
		if e.Einde, err = parseDay(rec[4]); err != nil {
			return e, "einddatum " + err.Error()
		}
		if e.Einde < e.Ingang {
			return e, "einddatum before ingangsdatum"
		}
	}
	return e, ""
}

// parseBSN accepts nine digits passing the elfproef (weights 9..2, -1).
func parseBSN(s string) (uint32, bool) {
	if len(s) != 9 {
		return 0, false
	}
	var n uint32
	sum := 0
	for i := 0; i < 9; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		d := int(c - '0')
		n = n*10 + uint32(d)
		if i < 8 {
			sum += d * (9 - i)
		} else {
			sum -= d
		}
	}
	return n, n != 0 && sum%11 == 0
}

// formatBSN writes a BSN with its leading zeros.
func formatBSN(n uint32) string { return fmt.Sprintf("%09d", n) }
