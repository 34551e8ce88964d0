// Package routing holds the party registry of the switch (its address book)
// and the routing rules of iWmo 3.2 and iJw 3.2.
//
// A Registry is built from one YAML file (see README.md in this directory
// for the format) or from the built-in DevRegistry. It knows every party —
// gemeenten by CBS code, aanbieders by AGB code, samenwerkingsverbanden that
// handle the traffic of some gemeenten — and the non-party principals
// (operator, auditor, NZa), with the credentials that authenticate them.
// A Registry is immutable once built and safe for concurrent use; a Book
// holds the current one and swaps in a new one on Reload.
//
// Registry.Route applies the rules of the standard to an authenticated
// principal and a message header: who may send the berichtsoort, whether the
// principal may send for the header's sender, and whose mailbox receives it.
// Heenberichten route on the header's Ontvanger; retourberichten and the
// declaratie-antwoord route back to the party that sent their heenbericht,
// which the caller finds in its store. Route does no I/O of its own. Every
// refusal is an *Error with a stable Code.
package routing
