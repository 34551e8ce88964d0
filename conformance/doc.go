// Package conformance is the switch's conformance suite and its runner: the
// cases of the standard as data, runnable against any Knooppunt over HTTP.
//
// A case is one small text file (format in README.md): a script of
// messages — generated with package sample, derived from one with package
// bericht/mutation or a byte-level transformation, or written inline — and
// the steps a party takes with them (post, poll, fetch, confirm, trace),
// each followed by the outcome the standard demands. The runner talks to
// the switch only through its HTTP API, so the same suite checks the
// in-process switch in CI and a running installation with --target; a
// failing expectation is reported with its file and line and what was seen.
//
// Every run draws a fresh prefix for the Identificaties of its messages
// and the numbers a case asks for with {{nummer:NAME}} (the keys of lines
// the switch remembers, such as a 305's ToewijzingNummer), so cases are
// independent of each other and of earlier runs against the same target.
package conformance
