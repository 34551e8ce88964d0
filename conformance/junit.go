package conformance

import (
	"encoding/xml"
	"fmt"
	"io"
)

// junitSuite is the JUnit XML report CI systems read.
type junitSuite struct {
	XMLName  xml.Name    `xml:"testsuite"`
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	File      string        `xml:"file,attr"`
	Line      int           `xml:"line,attr,omitempty"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	Skipped   *junitSkipped `xml:"skipped,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

// WriteJUnit writes the report as a JUnit XML test suite named
// "conformance": one testcase per case, failures with file:line and what
// was seen, skips with their reason.
func (r *Report) WriteJUnit(w io.Writer) error {
	s := junitSuite{
		Name: "conformance", Tests: len(r.Results), Failures: r.Failed, Skipped: r.Skipped,
		Time: seconds(r.Duration.Seconds()),
	}
	for _, res := range r.Results {
		jc := junitCase{
			Name: res.Case.Name, Classname: "conformance", File: res.Case.File,
			Time: seconds(res.Duration.Seconds()),
		}
		switch res.Outcome {
		case Fail:
			jc.Line = res.Line
			jc.Failure = &junitFailure{Message: res.Message, Text: fmt.Sprintf("%s: %s\nseen: %s\n", res.Where(), res.Message, res.Seen)}
		case Skip:
			jc.Skipped = &junitSkipped{Message: res.Message}
		}
		s.Cases = append(s.Cases, jc)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("writing JUnit report: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(s); err != nil {
		return fmt.Errorf("writing JUnit report: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func seconds(s float64) string { return fmt.Sprintf("%.3f", s) }
