package node

import (
	"context"
	"fmt"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/gateway"
	"github.com/knooppunt/knooppunt/retour"
	"github.com/knooppunt/knooppunt/routing"
	"github.com/knooppunt/knooppunt/rules"
)

// The switch's answer to level-2 breaches: validatorPort checks
// the rules in the parse that validates, answererPort decides per
// recipient and builds the answer with retour.Reject; to breaches of
// TR063 and TR074 (node/aanleveringen.go) with retour.Build.

// answerer is the gateway's Answerer when cfg asks for it, else nil.
func answerer(cfg Config, book *routing.Book) gateway.Answerer {
	if !cfg.AnswerRules {
		return nil
	}
	return answererPort{book}
}

// ValidateRules is the gateway's Validator.ValidateRules: the XSD and
// the level-2 rules in one parse (xsd.ValidateTree, rules.Check).
func (v validatorPort) ValidateRules(ctx context.Context, msg []byte) (bericht.Header, []gateway.Finding, *bericht.Tree, error) {
	h, tree, err := v.set.ValidateTreeContext(ctx, msg)
	if err != nil {
		return h, nil, nil, validationError(err)
	}
	var findings []gateway.Finding
	for _, f := range rules.Check(h, tree) {
		findings = append(findings, findingOf(f))
	}
	// The tree goes on with the message to storePort.Put, for the
	// information products.
	return h, findings, tree, nil
}

// answererPort is the gateway's Answerer on the registry in force.
type answererPort struct{ book *routing.Book }

// Answer leaves the answer to a level-2 breach to a recipient whose
// registry entry says retour: recipient — or whose samenwerkingsverband's
// does, since that answers for it — and otherwise builds the switch's:
// retour.Reject, back to the mailbox that receives for the heenbericht's
// sender. A breach of TR063 or TR074 the switch answers always (the
// gemeente asked for the check): the whole retourbericht with each
// finding's retourcode on its line, retour.Build.
func (ap answererPort) Answer(ctx context.Context, h bericht.Header, route gateway.Route, body []byte, findings []gateway.Finding) (*gateway.Answer, error) {
	reg := ap.book.Registry()
	lines := conversational(findings)
	for _, code := range []string{route.Recipient, route.Mailbox} {
		if p, ok := reg.Principal(code); ok && p.Retour == routing.RetourRecipient && !lines {
			return nil, nil
		}
	}
	mailbox, ok := reg.MailboxOf(h.Sender())
	if !ok { // routing accepted the sender a moment ago; a reload removed it since
		return nil, &gateway.Error{Kind: gateway.KindForbidden, Code: string(routing.CodeSenderInactive), Message: "the sender is no longer in the registry"}
	}
	var r *retour.Retour
	var err error
	if lines {
		r, err = retour.Build(body, lineCodes(findings), retour.Options{})
	} else {
		r, err = retour.Reject(h, retour.Options{})
	}
	if err != nil {
		return nil, fmt.Errorf("building the answer to a %s: %w", h.Soort.Name, err)
	}
	return &gateway.Answer{
		Header: r.Header, Body: r.XML, Codes: r.Codes,
		Route: gateway.Route{Recipient: h.Sender(), Mailbox: mailbox},
	}, nil
}

// conversational reports whether findings are of the level-3 rules the
// switch decides from its store (TR063, TR074), which the gateway never
// mixes with level-2 findings.
func conversational(findings []gateway.Finding) bool {
	for _, f := range findings {
		if r, ok := rules.Lookup(f.Rule); !ok || r.Level != rules.Conversation || r.Part {
			return false
		}
	}
	return len(findings) > 0
}

// lineCodes puts each finding's retourcode on its line (its path), for
// retour.Build.
func lineCodes(findings []gateway.Finding) *retour.Codes {
	codes := &retour.Codes{}
	at := map[string]int{}
	for _, f := range findings {
		i, ok := at[f.Path]
		if !ok {
			i = len(codes.Classes)
			at[f.Path] = i
			codes.Classes = append(codes.Classes, retour.Class{Path: f.Path})
		}
		codes.Classes[i].Codes = append(codes.Classes[i].Codes, f.Retourcode)
	}
	return codes
}
