// Package bericht describes the messages of iWmo 3.2 and iJw 3.2: the 28
// berichtsoorten with their BerichtCode, namespace, direction and pairing,
// and the header every message carries.
//
// It also holds the project's own model of the message schemas
// (bericht/model/*.model, embedded; the format is in model.go and
// model/README.md). From it come the element tree of every berichtsoort
// (Structure, Berichtklassen) for the sample generator and the retour
// builder, the XSD versions a sender fills in (XsdVersie), and the XSD set
// the switch validates with (SchemaFiles). A differential test holds that
// set to the same verdicts as the official XSDs.
//
// It is the leaf of the module: it imports nothing of the project and holds
// no mutable state, so every other package may use it. The model is parsed
// once, on first use, and is read-only. All functions are safe for
// concurrent use.
package bericht
