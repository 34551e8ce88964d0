package retour

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Codes are the outcome of a recipient's checks of one heenbericht: the
// codes for its header, or for berichtklassen in its body. README.md
// documents them as the YAML file `knooppunt retour build --codes` reads.
// The zero value means everything was accepted.
type Codes struct {
	// Header are codes on the header: an error of the whole message (0001
	// for a level-2 rule, or a rule's code such as 8848). The answer is
	// then the header alone, and Classes are not used.
	Header []string `yaml:"header"`
	// Default is the code of every berichtklasse of a returned client
	// that Classes do not name: 0200 (no remark, the default) or 0233
	// (not assessed).
	Default string `yaml:"default"`
	// Classes are the berichtklassen with codes.
	Classes []Class `yaml:"classes"`
}

// Class names one berichtklasse of the heenbericht and its codes. It is
// named by Path, or by the client's Bsn, optionally narrowed to one of its
// product lines by ToewijzingNummer or (in a 323) ReferentieNummer.
type Class struct {
	// Path is the element's path below Bericht with 1-based positions,
	// e.g. "Client/StartProducten/StartProduct[2]" or
	// "Declaratie/Clienten/Client[3]/Prestaties/Prestatie[1]"; a step
	// without a position means the first.
	Path string `yaml:"path"`
	// Bsn names a client by its burgerservicenummer.
	Bsn string `yaml:"bsn"`
	// Toewijzing narrows Bsn to the client's product line with this
	// ToewijzingNummer.
	Toewijzing string `yaml:"toewijzing"`
	// Referentie narrows Bsn to the client's Prestatie with this
	// ProductReferentie/ReferentieNummer (323).
	Referentie string `yaml:"referentie"`
	// Codes are the retourcodes of the class, at least one.
	Codes []string `yaml:"codes"`
}

// ParseCodes reads a codes file (YAML, see README.md). Unknown keys are
// errors, so a misspelt key does not silently accept a message.
func ParseCodes(data []byte) (*Codes, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var c Codes
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return nil, &Error{Code: CodeBadCodes, Detail: "reading codes: " + yamlProblem(err)}
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	return &c, nil
}

// yamlProblem is the YAML decoder's message without its prefix.
func yamlProblem(err error) string {
	return strings.TrimPrefix(err.Error(), "yaml: ")
}

// check refuses codes that could not name a class, before the heenbericht
// is read.
func (c *Codes) check() error {
	if c.Default != "" && c.Default != CodeGeenOpmerking && c.Default != CodeNietBeoordeeld {
		return errorf(CodeBadCodes, "default must be %s or %s", CodeGeenOpmerking, CodeNietBeoordeeld)
	}
	for i, cl := range c.Classes {
		n := i + 1
		switch {
		case len(cl.Codes) == 0:
			return errorf(CodeBadCodes, "class %d has no codes", n)
		case cl.Path != "" && (cl.Bsn != "" || cl.Toewijzing != "" || cl.Referentie != ""):
			return errorf(CodeBadCodes, "class %d: give either path or bsn, not both", n)
		case cl.Path == "" && cl.Bsn == "":
			return errorf(CodeBadCodes, "class %d: give path or bsn", n)
		case cl.Toewijzing != "" && cl.Referentie != "":
			return errorf(CodeBadCodes, "class %d: give toewijzing or referentie, not both", n)
		}
		if cl.Path != "" {
			if _, err := parsePath(cl.Path); err != nil {
				return errorf(CodeBadCodes, "class %d: %v", n, err)
			}
		}
	}
	return nil
}

// step is one step of a class path: an element name and a 1-based position.
type step struct {
	name string
	pos  int
}

// parsePath splits "Client/Producten/Product[2]" into steps; a leading
// "Bericht/" or "/Bericht/" is allowed.
func parsePath(p string) ([]step, error) {
	p = strings.TrimPrefix(strings.TrimPrefix(p, "/"), "Bericht/")
	var steps []step
	for _, part := range strings.Split(p, "/") {
		st := step{name: part, pos: 1}
		if i := strings.IndexByte(part, '['); i >= 0 {
			if !strings.HasSuffix(part, "]") {
				return nil, fmt.Errorf("path %q: unclosed position", p)
			}
			n, err := strconv.Atoi(part[i+1 : len(part)-1])
			if err != nil || n < 1 {
				return nil, fmt.Errorf("path %q: a position is a number from 1", p)
			}
			st = step{name: part[:i], pos: n}
		}
		if st.name == "" {
			return nil, fmt.Errorf("path %q has an empty step", p)
		}
		steps = append(steps, st)
	}
	return steps, nil
}
