// Package sample generates valid synthetic iWmo 3.2 and iJw 3.2 messages
// for all 28 berichtsoorten: the project's own test, demo, conformance and
// benchmark messages. Published examples may only be read by tests; every
// message the project ships or sends comes from here.
//
// A Generator is seeded and deterministic. Heen makes a heenbericht (301,
// 305, 307, 315, 317, 319, 323) and keeps its content, so Answer can make
// the retourbericht that belongs to it (header copied unchanged, plus
// IdentificatieRetour, DagtekeningRetour, XsdVersieRetour and RetourCodes)
// or, for a 323, the 325 declaratie-antwoord. Generate makes any of the 28
// in one call. XML is written by a small append-only writer, not a DOM:
// generating is cheap enough for load tests.
//
// Persons are fictitious: names and streets are common Dutch words picked
// at random and every BSN is random but passes the elfproef.
//
// Every message validates against the official XSD of its berichtsoort:
// element order, namespaces (header and class children in the message
// namespace, children of basisschema CDT types in the basisschema
// namespace), patterns, lengths and codelists, with the differences between
// the standards (ProductCategorie 01–18 for Wmo, 40–55 for Jw;
// RedenBeeindiging lists; GezagsdragerBekend in JW315; Woonplaatsbeginsel
// in JW319). XsdVersie is 1.0.0 for iWmo and 0.1.0 for iJw, as the
// schemas' appinfo says.
//
// Beyond the XSD the generator respects these rules of the standard:
//
//   - CS002 BSN elfproef; CS015/CS025 BerichtVersie 3, BerichtSubversie 2.
//   - TR135 Dagtekening not in the future (default today); TR002 birth date
//     within 120 years (Wmo clients adults, Jw clients under 18).
//   - TR056 Identificatie unique per generator (a seed-keyed permutation of
//     a counter); TR314/TR333 ReferentieNummer and DeclaratieNummer unique;
//     TR347/TR383 ReferentieAanbieder unique.
//   - CS003/TR018 end dates not before start dates; TR134 dates in 305,
//     307 and 315 not after the Dagtekening; TR380 wished dates in 317
//     after it.
//   - CD041, CD075–CD080, CD095: Omvang when ProductCode is set, Omvang
//     and Budget exclusive, Einddatum with Budget or Frequentie 2 (per
//     week), Product when no Budget, no Omvang without ProductCode.
//   - CS338/CS343 Eenheid 14, 16, 83, 84 only with Frequentie 2, 4 or 6.
//   - TR101, TR302, TR386, TR410 no product twice in a message: every
//     ProductCode distinct, and a line with only a ProductCategorie (which
//     the rules read as the whole category) shares it with no other line.
//   - CS050/CS318 NaamGebruik 1–4 with a Partnernaam, else 1, never 6;
//     CD007 Taal only with Communicatie Vorm 1.
//   - TR006, TR061, CD025, CD034, CS089: the client has a BRP address with
//     Huis and a Dutch Postcode, LandCode NL.
//   - CD043 BeschikkingIngangsdatum with BeschikkingNummer; CD066–CD068
//     Verwijzer with either ZorgverlenerCode or Naam as its Type demands.
//   - CS058 StatusAanlevering 1.
//   - CD085/CD086 RedenAfwijzingVerzoek only when VerzoekAntwoord is 1.
//   - 323: CS100/CS340 DeclaratiePeriode is the whole calendar month before
//     the Dagtekening; CS337, TR387, TR388 each ProductPeriode one whole
//     month; TR137 not after the Dagtekening; TR319 credits only for the
//     preceding month; CD060 VorigReferentieNummer exactly on credit lines;
//     CD087 ProductTarief unless Eenheid 83; CS339 Bedrag = Volume for 83,
//     TR346 Bedrag = Volume × Tarief otherwise; TR358 TotaalIngediendBedrag
//     is the signed sum of the lines; CS325 a zero total is debet.
//   - 325: TR337/TR371/TR376 DeclaratieIdentificatie, XsdVersieDeclaratie
//     and DeclaratieNummer from the 323; TR342 only rejected prestaties
//     listed; fully approved means Header 0200 and 8001 with toegekend
//     equal to ingediend.
//   - Retours: an approved retour is the header without RetourCodes; a
//     rejected one carries the body with a RetourCode on every
//     berichtklasse (0200 where nothing is wrong).
//
// For negative tests Options.Violate makes a heenbericht that still passes
// the XSD but breaks one named rule (CS002, TR135, TR018, TR358, CD085; see
// Violations).
//
// Rules that span messages (berichtoverstijgend, e.g. TR019, TR338: a 305
// or 323 refers to an earlier 301) hold only within a Traject: one
// client's 315, 301, 305, 323 and 307 with their answers, referring to each
// other. Messages from Heen and Generate stand alone, with fresh
// ToewijzingNummers.
package sample
