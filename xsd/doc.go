// Package xsd validates iWmo and iJw 3.2 messages against their XML schemas
// with libxml2 and reads their header on the way.
//
// Load compiles a schema set once — the project's own embedded schemas, or an
// operator's release bundle from a directory — and Set.Validate then checks
// one message in a single libxml2 parse: well-formedness, the root element's
// namespace (which names standard, release and berichtsoort), the header's
// BerichtCode, and the message schema. The header (bericht.Header) is read
// from the document libxml2 already built, so routing needs no second parse.
//
// Set.ValidateTree validates exactly as Validate does and, for a valid
// message, also returns a *bericht.Tree: a read-only view of the document's elements
// in document order (name, parent, extent, direct text, line), copied out of
// the same parse in one pass. It is what the level-2 rules (package rules)
// run on, so checking them needs no second parse either; a refused message
// has no Tree. The Tree type lives in package bericht, so that packages
// above (gateway, the products) can hold one without linking libxml2.
//
// CompileFile compiles any other XSD from a file, such as the StUF-GGk
// envelope schema or an official schema a test compares with, into a Schema
// whose Validate parses and checks a document the same way, with violations
// by line and column.
//
// A Set and a Schema are safe for concurrent use by many goroutines;
// compiled schemas are read-only in libxml2.
//
// # Refusals
//
// Validate refuses a message with an *Error whose Code is one of these,
// checked in this order (the first that applies wins):
//
//	code                  constant            meaning
//	empty                 CodeEmpty           the body is empty
//	too-large             CodeTooLarge        larger than Config.MaxSize (25 MiB, OP179)
//	byte-order-mark       CodeByteOrderMark   starts with a UTF-8 byte-order mark
//	not-utf8              CodeNotUTF8         invalid UTF-8, UTF-16/32, or an XML declaration naming another encoding
//	illegal-character     CodeCharacter       a NUL or another character outside XML 1.0 (pre-scan, as the next six)
//	xml-version           CodeXMLVersion      an XML declaration of another version than 1.0
//	comment-or-pi         CodeMarkupInRoot    a comment inside the root, or a processing instruction anywhere
//	content-after-root    CodeAfterRoot       anything but white space after the root element
//	too-many-attributes   CodeTooManyAttrs    more attributes and namespace declarations on one element than MessageBounds allows
//	name-too-long         CodeNameTooLong     a prefix or local name longer than the standard's longest
//	too-deep              CodeTooDeep         elements nested deeper than MessageBounds allows
//	too-many-elements     CodeTooMany         more elements than MessageBounds allows
//	doctype               CodeDoctype         a DOCTYPE in the prolog: no DTD, so no XXE and no entity expansion
//	not-well-formed       CodeNotWellFormed   not (namespace-)well-formed XML; one violation with line and column
//	not-bericht           CodeNotBericht      the root element is not Bericht
//	unsupported-release   CodeUnknownRelease  iWmo or iJw, but a release other than 3.2 (e.g. …/iwmo/3_1/…)
//	unknown-namespace     CodeUnknownNS       the root's namespace is no iWmo/iJw 3.2 berichtsoort
//	not-carried           CodeNotCarried      a 3.2 berichtsoort whose schema the loaded set lacks
//	berichtcode-mismatch  CodeBerichtCode     Header/BerichtCode differs from the root namespace's berichtsoort
//	xsd-invalid           CodeInvalid         schema violations, each with line, column and libxml2's message
//	internal              CodeInternal        libxml2 failed (out of memory); not the sender's fault
//
// An XSD refusal lists every violation libxml2 reports, up to
// Config.MaxViolations, each placed at the start tag of the offending
// element; Error.Omitted counts the rest. libxml2 reports one violation per
// offending element and, after a content-model error, skips the rest of that
// parent: fixing and resubmitting can reveal more.
//
// The pre-scan (Prescan, with MessageBounds) reads the message once, in
// time linear in its length, before libxml2 sees it: libxml2's cost grows
// with the square of the attributes on one element, and it stops reading at
// a NUL. Its refusals carry one violation with line and column.
//
// Config.Lazy compiles a berichtsoort's schema when its first message
// arrives, for commands that check a few files; a server compiles all of
// them in Load. Every refusal but an empty message carries the line and
// column of what it refuses.
//
// ValidateContext and ValidateTreeContext give up when their context ends:
// the parser reads a flag at every start tag and stops there. Close raises
// the same flag for every validation running; CloseContext bounds its wait.
//
// # Values in messages
//
// Error() and Detail never quote a value from the message. A
// Violation.Message may: libxml2 quotes the offending value, which can be a
// BSN or a name, names the message's elements and attributes, which a sender
// may have named after a person, and in a parse error shows what it was
// reading. Violation.Redacted quotes nothing of the message: for a parse
// error it is a sentence of our own per libxml2 error code with the
// standard's element names libxml2 mentions; for a schema violation it is
// libxml2's text with every quoted stretch that is not the standard's, and
// every element, attribute or prefix name and namespace that is not the
// standard's, replaced by '…' (redact.go). It is the one to log, count or
// send to anyone but the sender's own tools.
//
// # Implementation
//
// The project's own cgo shim (shim.c) drives libxml2 directly, for line
// numbers, structured errors and parser hooks, and is the process's only
// binding to it. The parser runs with no network access and no entity
// substitution, stops at a DOCTYPE before reading it, records
// the byte offset of each element's start tag in the node (for positions),
// and frees every document on every path. Everything libxml2 allocates for
// one document — its tree and the validation's own blocks — comes from an
// arena of its own (arena.c) and goes back in one piece when the document is
// freed: malloc and free had taken about a fifth of the time of a
// validation. kp_init runs xmlInitParser once before the first schema is
// compiled and installs that allocator only if the loaded libxml2 is of the
// 2.9 series it was written for; on any other it leaves libxml2 on malloc,
// and Arenas says so. Compilations, of Sets and Schemas alike, are
// serialised by one lock. Built with the kparenadebug tag, the arenas fill
// what is freed with a poison pattern, check it when a chunk is handed out
// again, and count blocks freed twice or never, for the tests to read.
package xsd
