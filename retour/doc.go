// Package retour builds the answers to iWmo and iJw 3.2 heenberichten: the
// retourberichten (302, 306, 308, 316, 318, 320) and, for a declaratie
// (323), the declaratie-antwoord (325).
//
// Two builders, for two callers:
//
//   - Reject is the switch's own answer to a heenbericht that passes the XSD
//     but breaks a rule of control level 2 (IV028): the header of the
//     heenbericht alone, with RetourCode 0001. It needs nothing but the
//     heenbericht's bericht.Header and appends XML to a byte slice directly,
//     so it stays cheap on the ingest path.
//   - Build is for recipients (and `knooppunt retour build`): from the whole
//     heenbericht and the codes the recipient's checks gave, the complete
//     retourbericht as the standard constructs it (OP065, IV087): every
//     client with an error returned whole with RetourCodes on every
//     berichtklasse, clients without errors left out, a header-only retour
//     when all is accepted, and for a 323 the 325 with 8001 when the
//     declaratie is approved in full. Codes come from a Codes value, which
//     README.md documents as a file format.
//
// Both write what the retour schema of the release demands; the tests hold
// every answer to the XSD of its berichtsoort.
package retour
