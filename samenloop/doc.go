// Package samenloop signals Wmo–Wlz samenloop: a person with an active Wmo
// toewijzing who gains, loses or changes a Wlz indicatie, so the gemeente can
// agree with the aanbieder how to proceed.
//
// The Engine keeps the active Wmo toewijzingen per BSN × gemeente × product
// × period, learned from the iWmo traffic off the hot path (Observe: a 301
// creates or changes a toewijzing, a 307 ends delivery; Einddatum in the past
// or RedenWijziging 13 "Verwijderd" means no longer active). iJw traffic is
// never looked at: using Wlz data for jeugdigen has no legal basis.
//
// An operator imports a copy of the Wlz register (a CSV, refused whole when
// any row is bad; a new import replaces the previous one). Run compares the
// two and puts one WLZ-SIGNAAL message (docs/wlz-signaal.xsd) per change in
// the mailbox of the gemeente holding the toewijzing, or of its
// samenwerkingsverband. A signal's dedup key is derived from what it says, so
// a rerun, or a rerun after a crash, never sends the same signal twice.
//
// BSNs are personal data: they appear in signals only, never in logs,
// metrics or error messages.
package samenloop
