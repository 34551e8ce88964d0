// Package rules checks the level-2 rules of iWmo 3.2 and iJw 3.2: the
// conditions (CD), constraints (CS) and technical rules (TR) whose control
// level is "bericht inhoud", which a message can break while it is valid
// against its XSD. A heenbericht that breaks one is answered with a
// retourbericht carrying retourcode 0001 (package retour builds it).
//
// Each rule is a small named unit (Rule): its code, its retourcode, the
// berichtsoorten it applies to, a one-line summary, a message that breaks
// it and one that keeps it, and a check over the document view bericht.Tree,
// which (*xsd.Set).ValidateTree builds from the document libxml2 already
// parsed — the rules need no second parse. Check runs every rule of a
// message's berichtsoort and returns Findings: rule code, retourcode,
// element path, line and a text that says what is wrong and where, naming
// the elements involved with their lines ("GewensteIngangsdatum (line 41)
// is not after the Dagtekening (line 11)"), and never a value from the
// message, so a Finding can be logged and counted without leaking a BSN or
// a name.
//
// Rules the XSD already enforces (lengths, patterns, codelists: all RS
// restrictions, CS015, CS025, CS319), rules that span messages (level 3) and
// rules that need an external source (level 4) are not checked here;
// docs/rules.md gives the reason for each. Five rules of levels 3 and 4 can
// be broken by one message on its own (TR314, TR319, TR326, TR346, TR415):
// Check runs that part (Rule.Part) and reports it with the rule's own
// retourcode. The few level-3 rules the switch can decide from what it has
// seen are registered with level Conversation and not run by Check: TR056
// (Duplicate turns the store's refusal of a reused Identificatie into a
// finding with retourcode 9056) and TR063/TR074 (CheckConversation, over a
// Ledger of earlier aanleveringen). They are optional and off by default,
// since the standard leaves level 3 to the recipient.
//
// Official and Explain give the standard's own wording of every rule of
// both standards (TR, CD, CS, RS), carried as data in standard.csv, with
// what the switch does with it.
//
// The registry is built once at package initialisation and is read-only;
// everything here is safe for concurrent use.
package rules
