package rules

import "github.com/knooppunt/knooppunt/xsd"

// conversation are the level-3 rules the switch can decide from its own
// store. Check does not run them: the caller that holds the store does, when
// the registry enables them (off by default: the standard leaves level 3 to
// the recipient).
var conversation = []*Rule{
	{
		Code: "TR056", Retourcode: DuplicateIdentificatie, Level: Conversation,
		Soorten: soorten("301", "305", "307", "315", "317", "319", "323", "325"),
		Summary: "the Identificatie of a message is unique per berichtsoort and sender",
	},
}

// Duplicate is the TR056 finding for a message whose Identificatie the
// store already holds for the same sender and berichtsoort with other bytes
// (store.ErrDuplicate): it points at Header/BerichtIdentificatie/Identificatie
// of doc. doc may be nil when the caller has no view of the message; the
// finding then carries only the path.
func Duplicate(doc *xsd.Tree) Finding {
	const path = "/Bericht/Header/BerichtIdentificatie/Identificatie"
	f := Finding{Rule: "TR056", Retourcode: DuplicateIdentificatie, Path: path, Element: -1}
	if doc == nil || doc.Len() == 0 {
		return f
	}
	if i := doc.Child(0, "Header", "BerichtIdentificatie", "Identificatie"); i >= 0 {
		f.Path, f.Line, f.Element = doc.Path(i), doc.Line(i), i
	}
	return f
}
