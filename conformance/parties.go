package conformance

import (
	"regexp"
	"slices"
)

// named reports whether the run may act as party: always, unless
// Config.NamedPartiesOnly, and then only for the parties in Tokens.
func (cr *caseRun) named(party string) bool {
	if !cr.cfg.NamedPartiesOnly {
		return true
	}
	_, ok := cr.cfg.Tokens[party]
	return ok
}

// headerParty finds the party codes a message's header names: a message
// the switch stores goes to one of them (a heenbericht to its Ontvanger,
// an answer back to its heenbericht's sender, whose header it copies).
var headerParty = regexp.MustCompile(`<(?:[A-Za-z0-9_]+:)?(?:Afzender|Ontvanger)>\s*([^<\s]+)\s*</`)

// unnamedParty builds every message of the case and returns the first
// party the case would act as, or address a stored message to, that
// Tokens does not name; "" if there is none. A message that cannot be
// built is the case's failure, at its line.
func (cr *caseRun) unnamedParty() (string, *failure) {
	for _, st := range cr.c.Steps {
		if st.Verb != "message" {
			continue
		}
		m, err := cr.build(cr.c, st, cr.msgs)
		if err != nil {
			return "", &failure{line: st.Line, msg: err.Error()}
		}
		cr.msgs[m.name] = m
	}
	cr.prebuilt = true
	var parties []string
	add := func(p string) {
		if p != "" && p != "-" && !slices.Contains(parties, p) {
			parties = append(parties, p)
		}
	}
	var addHeader func(name string)
	addHeader = func(name string) {
		m, ok := cr.msgs[name]
		if !ok {
			return
		}
		for _, part := range m.parts {
			addHeader(part)
		}
		for _, sub := range headerParty.FindAllSubmatch(m.body, -1) {
			add(string(sub[1]))
		}
	}
	for _, st := range cr.c.Steps {
		switch st.Verb {
		case "message", "expect", "wait-lease", "requires":
			continue
		}
		add(st.Args[0])
		switch st.Verb {
		case "post", "batch", "soap":
			addHeader(st.Args[len(st.Args)-1])
			if st.Verb == "soap" {
				add(st.Opts["zender"])
				add(st.Opts["ontvanger"])
			}
		}
	}
	for _, p := range parties {
		if !cr.named(p) {
			return p, nil
		}
	}
	return "", nil
}
