package rules

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"

	"github.com/knooppunt/knooppunt/bericht"
)

// Retourcodes of the conversation rules.
const (
	// NoEarlierAanlevering is retourcode 9063 of TR063.
	NoEarlierAanlevering = "9063"
	// AanleveringNotUnique is retourcode 9074 of TR074.
	AanleveringNotUnique = "9074"
)

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
	{
		Code: "TR063", Retourcode: NoEarlierAanlevering, Level: Conversation, Soorten: soorten("305", "307"),
		Summary: "with StatusAanlevering 3 (remove) an earlier aanlevering with the same key was received",
	},
	{
		Code: "TR074", Retourcode: AanleveringNotUnique, Level: Conversation, Soorten: soorten("305", "307"),
		Summary: "with StatusAanlevering 1 the key of the aanlevering is unique over all messages received",
	},
}

// Duplicate is the TR056 finding for a message whose Identificatie the
// store already holds for the same sender and berichtsoort with other bytes
// (store.ErrDuplicate): it points at Header/BerichtIdentificatie/Identificatie
// of doc. doc may be nil when the caller has no view of the message; the
// finding then carries only the path.
func Duplicate(doc *bericht.Tree) Finding {
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

// AanleveringKey identifies one StartProduct or StopProduct across messages:
// an HMAC-SHA-256, under a secret of the deployment, of sender, recipient,
// berichtsoort, the client's Bsn and the logical key of the line (the TR101
// key). A ledger of these keys holds no BSN in clear.
type AanleveringKey [sha256.Size]byte

// Aanlevering is one StartProduct (305) or StopProduct (307) as TR063 and
// TR074 see it.
type Aanlevering struct {
	Key AanleveringKey
	// Status is its StatusAanlevering: "1" delivers, "3" removes.
	Status string
	// Element is the line's index in the bericht.Tree.
	Element int
}

// Aanleveringen returns the start or stop lines of a 305 or 307 with their
// keys; nil for other berichtsoorten.
func Aanleveringen(secret []byte, h bericht.Header, doc *bericht.Tree) []Aanlevering {
	var class string
	var key [][]string
	for _, lk := range logicalKeys {
		if containsString(lk.soorten, h.Soort.Name) && (lk.class == "StartProduct" || lk.class == "StopProduct") {
			class, key = lk.class, lk.key
		}
	}
	if class == "" || doc == nil || doc.Len() == 0 {
		return nil
	}
	bsn, _ := doc.Value(0, "Client", "Bsn")
	var out []Aanlevering
	for i := range doc.All(0, class) {
		mac := hmac.New(sha256.New, secret)
		for _, part := range []string{h.Afzender, h.Ontvanger, h.Soort.Name, bsn} {
			fmt.Fprintf(mac, "%d:%s;", len(part), part)
		}
		for _, path := range key {
			v, _ := doc.Value(i, path...)
			fmt.Fprintf(mac, "%d:%s;", len(v), v)
		}
		a := Aanlevering{Element: i}
		a.Status, _ = doc.Value(i, "StatusAanlevering")
		copy(a.Key[:], mac.Sum(nil))
		out = append(out, a)
	}
	return out
}

// Ledger remembers the aanleveringen received, for TR063 and TR074. The
// store keeps one (store.Ledger): it records the keys of a message in the
// commit that stores it.
type Ledger interface {
	// Delivered tells whether the last aanlevering received with key had
	// StatusAanlevering 1 (delivered and not removed since).
	Delivered(ctx context.Context, key AanleveringKey) (bool, error)
}

// CheckConversation runs TR063 and TR074 on a 305 or 307 against the
// aanleveringen the ledger remembers. It is optional, per registry setting
// (check_aanleveringen) and off by default: the standard leaves level 3 to
// the recipient. The caller records the message's Aanleveringen in the
// ledger when it stores the message.
func CheckConversation(ctx context.Context, secret []byte, h bericht.Header, doc *bericht.Tree, l Ledger) ([]Finding, error) {
	var out []Finding
	for _, a := range Aanleveringen(secret, h, doc) {
		if a.Status != "1" && a.Status != "3" {
			continue // CS058 refuses other values at level 2
		}
		delivered, err := l.Delivered(ctx, a.Key)
		if err != nil {
			return nil, fmt.Errorf("rules: asking the ledger about an aanlevering: %w", err)
		}
		if delivered == (a.Status == "1") {
			out = append(out, Refusal(doc, a))
		}
	}
	return out, nil
}

// Refusal is the finding of a line the ledger refuses: TR074 (9074) for
// StatusAanlevering 1, whose key is delivered already; TR063 (9063) for
// StatusAanlevering 3, whose key is not delivered. doc is the tree a came
// from.
func Refusal(doc *bericht.Tree, a Aanlevering) Finding {
	f := Finding{Rule: "TR063", Retourcode: NoEarlierAanlevering, Path: doc.Path(a.Element), Line: doc.Line(a.Element), Element: a.Element}
	name := doc.Name(a.Element)
	if a.Status == "1" {
		f.Rule, f.Retourcode = "TR074", AanleveringNotUnique
		f.Text = fmt.Sprintf("%s (line %d) has StatusAanlevering 1, but an aanlevering with the same key was delivered before and not removed", name, f.Line)
	} else {
		f.Text = fmt.Sprintf("%s (line %d) has StatusAanlevering 3, but no aanlevering with the same key is delivered to remove", name, f.Line)
	}
	return f
}
