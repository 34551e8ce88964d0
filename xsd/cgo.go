package xsd

/*
#cgo pkg-config: libxml-2.0
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"sync"
	"sync/atomic"
	"unsafe"
)

// initOnce runs kp_init (xmlInitParser, then the arena allocator if the
// loaded libxml2 is one it was written for) before the first schema is
// compiled: libxml2's lazy initialisation is not safe when several threads
// make the process's first libxml2 call at once.
var initOnce sync.Once

// compileMu serialises schema compilation (xmlSchemaParse initialises shared
// type tables and is not safe to run concurrently with itself). It is the
// process's only lock around libxml2's schema parser: every schema, the
// message sets' and CompileFile's, is compiled through compile.
var compileMu sync.Mutex

func initLibxml2() { initOnce.Do(func() { C.kp_init() }) }

// arenaStats reports the arena chunks (arena.c) taken so far and how many
// of them are free: warm (resident) or cold (given back to the kernel).
func arenaStats() (taken, warm, cold int) {
	var t, w, c C.long
	C.kp_arena_stats(&t, &w, &c)
	return int(t), int(w), int(c)
}

// useArenas switches the arenas on or off for documents parsed from now on;
// tests compare the two.
func useArenas(on bool) {
	v := C.int(0)
	if on {
		v = 1
	}
	C.kp_arenas_set(v)
}

// issue is one error copied out of libxml2.
type issue struct {
	code      int
	line, col int
	offset    int // byte offset of the offending element's start tag, -1 if unknown
	msg       string
	value     string // text of the offending node, for redaction only
}

// issues is a C-side collector of libxml2 errors.
type issues struct{ c C.kp_issues }

func newIssues(max int) *issues {
	is := &issues{}
	is.c.max = C.int(max)
	return is
}

// take copies the collected errors into Go memory, frees the C side and
// returns them with the total count (kept and dropped).
func (is *issues) take() ([]issue, int) {
	n, total := int(is.c.n), int(is.c.total)
	if n == 0 {
		C.kp_issues_free(&is.c)
		return nil, total
	}
	items := unsafe.Slice(is.c.items, n)
	out := make([]issue, n)
	for i := range items {
		it := &items[i]
		out[i] = issue{
			code:   int(it.code),
			line:   int(it.line),
			col:    int(it.col),
			offset: int(it.offset),
			msg:    goString(it.msg),
			value:  goString(it.value),
		}
	}
	C.kp_issues_free(&is.c)
	return out, total
}

// free releases the C side without copying it.
func (is *issues) free() { C.kp_issues_free(&is.c) }

func goString(p *C.char) string {
	if p == nil {
		return ""
	}
	return C.GoString(p)
}

// schema is one compiled XSD.
type schema struct{ ptr *C.xmlSchema }

// compile compiles the schema file at path; imports resolve against its
// directory. On failure it returns libxml2's first complaints.
func compile(path string) (schema, []issue) {
	initLibxml2()
	compileMu.Lock()
	defer compileMu.Unlock()
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	is := newIssues(5)
	ptr := C.kp_compile(cpath, &is.c)
	errs, _ := is.take()
	return schema{ptr}, errs
}

func (s schema) targetNamespace() string { return goString(C.kp_target_namespace(s.ptr)) }

func (s schema) free() { C.xmlSchemaFree(s.ptr) }

// document is a parsed message; free it exactly once.
type document struct {
	c C.kp_parsed
}

// parse parses msg (which must not be empty). On refusal doc.c.doc is nil;
// doctype tells whether a DOCTYPE stopped the parser, and errs holds the
// parser's errors. The parser stops at the next start tag once a or b
// (either may be nil) is raised; stopped then tells so.
func parse(msg []byte, is *issues, a, b *stopFlag) *document {
	d := &document{}
	C.kp_parse((*C.char)(unsafe.Pointer(&msg[0])), C.int(len(msg)), &d.c, &is.c, a.c(), b.c())
	return d
}

func (d *document) ok() bool      { return d.c.doc != nil }
func (d *document) doctype() bool { return d.c.doctype != 0 }
func (d *document) stopped() bool { return d.c.stopped != 0 }

// stopFlag is a flag the parser reads at every start tag while another
// goroutine may raise it. It lives in Go memory, which cgo keeps in place
// for the duration of the call it is passed to, so raising it after the
// call has returned is harmless.
type stopFlag struct{ v C.int }

// raise makes the parsers reading f stop at their next start tag.
func (f *stopFlag) raise() { atomic.StoreInt32((*int32)(unsafe.Pointer(&f.v)), 1) }

// raised reports whether f was raised.
func (f *stopFlag) raised() bool {
	return f != nil && atomic.LoadInt32((*int32)(unsafe.Pointer(&f.v))) != 0
}

// c is f as the shim takes it: NULL for no flag.
func (f *stopFlag) c() *C.int {
	if f == nil {
		return nil
	}
	return &f.v
}

// root returns the root element's local name and namespace; the strings
// point into the document and are valid only until free.
func (d *document) root() (name, ns string) {
	return unsafeString(d.c.root_name), unsafeString(d.c.root_ns)
}

func (d *document) free() {
	if d.c.doc != nil {
		C.kp_doc_free(d.c.doc)
		d.c.doc = nil
	}
}

// header reads the header fields of the document's root, with the byte
// offset of each field's start tag (-1 when absent or unknown); ns and
// basis are the message and basisschema namespaces as C strings.
func (d *document) header(ns, basis *C.char) (fields [C.KP_H_COUNT]string, offsets [C.KP_H_COUNT]int) {
	var nodes [C.KP_H_COUNT]C.xmlNodePtr
	C.kp_header(d.c.root, ns, basis, &nodes[0])
	for i, n := range nodes {
		offsets[i] = -1
		if n != nil {
			fields[i] = text(n)
			offsets[i] = nodeOffset(n)
		}
	}
	return fields, offsets
}

// nodeOffset is the byte offset of element n's start tag, which the
// parser records in the node (shim.c), or -1.
func nodeOffset(n *C.xmlNode) int {
	if n == nil || n._private == nil {
		return -1
	}
	return int(uintptr(n._private)) - 1
}

// rootOffset is the byte offset of the root element's start tag, or -1.
func (d *document) rootOffset() int { return nodeOffset(d.c.root) }

// text returns an element's text: straight from its one text child when it
// has one, else through libxml2 (comments or several text nodes inside).
func text(n *C.xmlNode) string {
	c := n.children
	if c == nil {
		return ""
	}
	if c.next == nil && c._type == C.XML_TEXT_NODE {
		return goString((*C.char)(unsafe.Pointer(c.content)))
	}
	p := C.kp_text(n)
	defer C.free(unsafe.Pointer(p))
	return goString(p)
}

// validate validates the document against s: 0 valid, >0 invalid, <0 an
// internal libxml2 failure.
func (d *document) validate(s schema, is *issues) int {
	return int(C.kp_validate(s.ptr, d.c.doc, &is.c))
}

// unsafeString views a C string as a Go string without copying.
func unsafeString(p *C.char) string {
	if p == nil {
		return ""
	}
	b := unsafe.Pointer(p)
	n := 0
	for *(*byte)(unsafe.Add(b, n)) != 0 {
		n++
	}
	return unsafe.String((*byte)(b), n)
}

// header field indexes, as kp_header fills them.
const (
	hBerichtCode             = C.KP_H_BERICHTCODE
	hAfzender                = C.KP_H_AFZENDER
	hOntvanger               = C.KP_H_ONTVANGER
	hIdentificatie           = C.KP_H_IDENTIFICATIE
	hDagtekening             = C.KP_H_DAGTEKENING
	hBasisschemaXsdVersie    = C.KP_H_BASISSCHEMA_XSD_VERSIE
	hBerichtXsdVersie        = C.KP_H_BERICHT_XSD_VERSIE
	hIdentificatieRetour     = C.KP_H_IDENTIFICATIE_RETOUR
	hDagtekeningRetour       = C.KP_H_DAGTEKENING_RETOUR
	hDeclaratieIdentificatie = C.KP_H_DECLARATIE_IDENTIFICATIE
	hDeclaratieDagtekening   = C.KP_H_DECLARATIE_DAGTEKENING
)

// compiled is a compiled message schema with the namespaces kp_header needs
// as C strings.
type compiled struct {
	schema    schema
	ns, basis *C.char
}

func newCompiled(s schema, ns, basis string) *compiled {
	return &compiled{schema: s, ns: C.CString(ns), basis: C.CString(basis)}
}

func (c *compiled) free() {
	c.schema.free()
	C.free(unsafe.Pointer(c.ns))
	C.free(unsafe.Pointer(c.basis))
}

func (d *document) headerOf(c *compiled) ([C.KP_H_COUNT]string, [C.KP_H_COUNT]int) {
	return d.header(c.ns, c.basis)
}
