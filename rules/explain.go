package rules

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/knooppunt/knooppunt/bericht"
)

// ErrUnknownRule is returned by Explain for a code that is no rule of
// iWmo 3.2 or iJw 3.2.
var ErrUnknownRule = errors.New("rules: no rule of iWmo 3.2 or iJw 3.2 has this code")

// xsdEnforced are the constraints a message schema enforces with a facet
// (BerichtVersie 3, BerichtSubversie 2, DeclaratieNummer letters and
// digits); every restriction (RS) is one too.
var xsdEnforced = map[string]bool{"CS015": true, "CS025": true, "CS319": true}

// explainWidth is where Explain wraps its lines.
const explainWidth = 96

// Explain writes, for people, what the standard says of the rule with
// code (TR302, cd005: case does not matter) — its official text per
// standard, with control level, retourcode, messages and source — and what
// the switch does with it, with a message that breaks it and one that keeps
// it where the switch checks it. A code of neither standard is
// ErrUnknownRule.
func Explain(w io.Writer, code string) error {
	code = strings.ToUpper(strings.TrimSpace(code))
	texts, ok := Official(code)
	if !ok {
		return fmt.Errorf("%w: %q (codes look like TR002, CD005, CS002, RS001)", ErrUnknownRule, code)
	}
	var b strings.Builder
	var stds []string
	for _, x := range texts {
		for _, s := range x.Standards {
			stds = append(stds, standardName(s))
		}
	}
	fmt.Fprintf(&b, "%s, %s of %s\n", code, texts[0].Kind, strings.Join(stds, " and "))
	for _, x := range texts {
		var names []string
		for _, s := range x.Standards {
			names = append(names, standardName(s))
		}
		b.WriteString("\nThe standard (" + strings.Join(names, ", ") + "):\n")
		var facts []string
		if x.Level != "" {
			facts = append(facts, "control level: "+x.Level)
		}
		if x.Retourcode != "" {
			facts = append(facts, "retourcode "+x.Retourcode)
		}
		if len(x.Messages) > 0 {
			facts = append(facts, "messages "+strings.Join(x.Messages, " "))
		}
		wrap(&b, "  ", strings.Join(facts, "; "))
		wrap(&b, "  ", x.Definition)
		if x.Explanation != "" {
			wrap(&b, "  ", "Toelichting: "+x.Explanation)
		}
		if len(x.Elements) > 0 {
			wrap(&b, "  ", "Applies to: "+strings.Join(x.Elements, "; "))
		}
		wrap(&b, "  ", "Source: "+x.Source)
	}
	b.WriteString("\nThe switch:\n")
	r, registered := Lookup(code)
	switch {
	case registered && r.Level == InMessage:
		wrap(&b, "  ", "Checked in every message it applies to (rules.Check, control level 2); a breach is answered with a retourbericht carrying retourcode 0001 and the message is not delivered.")
	case registered && r.Part:
		wrap(&b, "  ", fmt.Sprintf("Checks the part one message decides (rules.Check); a breach there is answered as a level-2 breach, with a retourbericht carrying 0001, and the finding names the rule and its retourcode %s. The rest needs %s and stays with the recipient.", r.Retourcode, levelNeeds(r.Level)))
	case registered && code == "TR056":
		wrap(&b, "  ", "Control level 3. The store refuses a second message with the same sender, berichtsoort and Identificatie and other bytes (HTTP 409 duplicate-conflict); rules.Duplicate turns that refusal into a finding with retourcode 9056. knooppunt check does not run it: it needs the store.")
	case registered:
		wrap(&b, "  ", "Control level 3, which the standard leaves to the recipient. The switch runs it on the 305s and 307s sent to a gemeente whose registry entry has check_aanleveringen: true (off by default): rules.CheckConversation over the store's ledger of earlier aanleveringen, and the store refuses, in the write itself, a message that another won a race against. A breach is answered with a retourbericht carrying the retourcode on the offending line, and the message is not delivered (docs/rules.md, \"Level 3 where the switch sees the conversation\"). knooppunt check does not run it: it needs the store.")
	case xsdEnforced[code] || strings.HasPrefix(code, "RS"):
		wrap(&b, "  ", "Enforced by the XSD (control level 1): a message that breaks it is refused before the rules run, with the line and column of the violation.")
	case texts[0].Level == "berichtoverstijgend":
		wrap(&b, "  ", fmt.Sprintf("Not checked: it needs earlier messages (control level 3). The recipient checks it and answers with retourcode %s.", texts[0].Retourcode))
	case texts[0].Level == "externe bron":
		wrap(&b, "  ", fmt.Sprintf("Not checked: it needs a source outside the conversation (control level 4). The recipient checks it and answers with retourcode %s.", texts[0].Retourcode))
	default:
		wrap(&b, "  ", "Not checked; docs/rules.md says why.")
	}
	if registered {
		wrap(&b, "  ", "What it checks: "+r.Summary)
		wrap(&b, "  ", "In: "+strings.Join(r.Soorten, " "))
	}
	if registered && r.Checked() {
		wrap(&b, "  ", "Breaks it: "+r.Breaks)
		wrap(&b, "  ", "Keeps it: "+r.Keeps)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func standardName(s bericht.Standard) string {
	switch s {
	case bericht.IWmo:
		return "iWmo 3.2"
	case bericht.IJw:
		return "iJw 3.2"
	}
	return string(s)
}

// levelNeeds says what a rule of level l needs beyond the message.
func levelNeeds(l Level) string {
	if l == External {
		return "a source outside the conversation (control level 4)"
	}
	return "earlier messages (control level 3)"
}

// wrap writes text as lines of at most explainWidth characters, the first
// starting with indent, the others with indent and two spaces more.
func wrap(b *strings.Builder, indent, text string) {
	prefix, n := indent, 0 // n: characters on the current line
	for _, word := range strings.Fields(text) {
		w := utf8.RuneCountInString(word)
		if n > 0 && n+1+w > explainWidth {
			b.WriteByte('\n')
			n, prefix = 0, indent+"  "
		}
		if n == 0 {
			b.WriteString(prefix)
			n = len(prefix)
		} else {
			b.WriteByte(' ')
			n++
		}
		b.WriteString(word)
		n += w
	}
	if n > 0 {
		b.WriteByte('\n')
	}
}
