package xsd

/*
#cgo pkg-config: libxml-2.0
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "shim.h"

// kp_tnode is one element as kp_walk reports it; the pointers point into the
// document and are valid until it is freed.
typedef struct {
	const char *name; // local name (libxml2 dictionary string)
	const char *text; // content of the only text child, NULL if none
	xmlNodePtr node;  // the element, for texts kp_walk cannot give directly
	long offset;      // byte offset of the start tag's '<', -1 if unknown
	int textlen;
	int parent;       // index of the parent element, -1 for the root
	int end;          // index past the element's last descendant
	int mixed;        // 1: a leaf whose text is not one text node (comments, several nodes)
} kp_tnode;

// KP_TREE_MAX_DEPTH bounds the nesting kp_walk follows; the message schemas
// nest less than 20 deep.
#define KP_TREE_MAX_DEPTH 128

// kp_first_elem returns the first element among n and its following siblings.
static xmlNodePtr kp_first_elem(xmlNodePtr n) {
	while (n != NULL && n->type != XML_ELEMENT_NODE) {
		n = n->next;
	}
	return n;
}

// kp_walk visits the elements under and including root in document order
// and fills out[0..cap). It returns the number of elements (which may exceed
// cap: nothing beyond cap is written), or -1 when nesting exceeds
// KP_TREE_MAX_DEPTH. *textbytes receives the bytes of all direct texts.
static int kp_walk(xmlNodePtr root, kp_tnode *out, int cap, long *textbytes) {
	int stack[KP_TREE_MAX_DEPTH];
	int depth = 0, n = 0;
	long tb = 0;
	xmlNodePtr cur = root;
	while (cur != NULL) {
		int idx = n++;
		xmlNodePtr child = kp_first_elem(cur->children);
		if (idx < cap) {
			kp_tnode *t = &out[idx];
			t->name = (const char *)cur->name;
			t->node = cur;
			t->offset = cur->_private != NULL ? (long)(intptr_t)cur->_private - 1 : -1;
			t->parent = depth > 0 ? stack[depth - 1] : -1;
			t->end = idx + 1;
			t->text = NULL;
			t->textlen = 0;
			t->mixed = 0;
			xmlNodePtr c = cur->children;
			if (child == NULL && c != NULL) {
				if (c->next == NULL && c->type == XML_TEXT_NODE && c->content != NULL) {
					t->text = (const char *)c->content;
					t->textlen = (int)strlen((const char *)c->content);
					tb += t->textlen;
				} else {
					t->mixed = 1;
				}
			}
		}
		if (child != NULL) {
			if (depth == KP_TREE_MAX_DEPTH) {
				return -1;
			}
			stack[depth++] = idx;
			cur = child;
			continue;
		}
		for (;;) {
			if (cur == root) {
				cur = NULL;
				break;
			}
			xmlNodePtr next = kp_first_elem(cur->next);
			if (next != NULL) {
				cur = next;
				break;
			}
			cur = cur->parent;
			depth--;
			if (stack[depth] < cap) {
				out[stack[depth]].end = n;
			}
		}
	}
	*textbytes = tb;
	return n;
}
*/
import "C"

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"sync"
	"unsafe"

	"github.com/knooppunt/knooppunt/bericht"
)

// ValidateTree validates msg exactly as Validate does and, when it is valid,
// also returns the Tree of the document: the header, the view, nil. On any
// refusal the Tree is nil and header and error are those of Validate.
func (s *Set) ValidateTree(msg []byte) (bericht.Header, *bericht.Tree, error) {
	return s.ValidateTreeContext(context.Background(), msg)
}

// ValidateTreeContext is ValidateTree that gives up when ctx ends, as
// ValidateContext does.
func (s *Set) ValidateTreeContext(ctx context.Context, msg []byte) (bericht.Header, *bericht.Tree, error) {
	var (
		t    *bericht.Tree
		terr error
	)
	h, err := s.validate(ctx, msg, func(d *document) { t, terr = d.tree(msg) })
	if err != nil {
		return h, nil, err
	}
	if terr != nil {
		return h, nil, &Error{Code: CodeInternal, Detail: terr.Error()}
	}
	return h, t, nil
}

// scratch is the reusable working memory of tree: the node array lives in C
// memory, so cgo need not check it for Go pointers and the collector never
// scans it; a cleanup frees it when the pool drops the scratch.
type scratch struct {
	buf *nodeBuf
	// recent caches name ids by the address of libxml2's dictionary string:
	// within one document a name has one address, so most elements skip
	// hashing their name. Cleared for every document.
	recent [256]struct {
		p  *C.char
		id int32
	}
}

// nodeBuf is the C array; the cleanup of its scratch frees it.
type nodeBuf struct {
	nodes *C.kp_tnode
	cap   int
}

var scratchPool = sync.Pool{New: func() any {
	sc := &scratch{buf: &nodeBuf{}}
	runtime.AddCleanup(sc, func(b *nodeBuf) { C.free(unsafe.Pointer(b.nodes)) }, sc.buf)
	return sc
}}

// maxPooledNodes bounds the node buffer a pooled scratch keeps (about
// 3.5 MB): a buffer grown for a larger document is freed after the walk.
const maxPooledNodes = 1 << 16

// release frees the buffer.
func (b *nodeBuf) release() {
	C.free(unsafe.Pointer(b.nodes))
	b.nodes, b.cap = nil, 0
}

// grow makes room for n nodes.
func (b *nodeBuf) grow(n int) bool {
	if n <= b.cap {
		return true
	}
	p := C.realloc(unsafe.Pointer(b.nodes), C.size_t(n)*C.size_t(unsafe.Sizeof(C.kp_tnode{})))
	if p == nil {
		return false
	}
	b.nodes, b.cap = (*C.kp_tnode)(p), n
	return true
}

// tree copies the document's elements into a Tree in one cgo call.
func (d *document) tree(msg []byte) (*bericht.Tree, error) {
	sc := scratchPool.Get().(*scratch)
	defer func() {
		if sc.buf.cap > maxPooledNodes {
			sc.buf.release()
		}
		scratchPool.Put(sc)
	}()
	// Walk into the buffer at hand; when the document has more elements,
	// grow to exactly their number and walk again. (Counting '<' would
	// bound the number too, but a comment may hold millions of them.)
	var textBytes C.long
	n := 0
	for capacity := max(sc.buf.cap, 256); ; capacity = n {
		if !sc.buf.grow(capacity) {
			return nil, fmt.Errorf("xsd: no memory for the document view of %d elements", capacity)
		}
		n = int(C.kp_walk(d.c.root, sc.buf.nodes, C.int(sc.buf.cap), &textBytes))
		if n < 0 {
			return nil, fmt.Errorf("xsd: the document nests deeper than %d elements", C.KP_TREE_MAX_DEPTH)
		}
		if n <= sc.buf.cap {
			break
		}
	}
	nodes := unsafe.Slice(sc.buf.nodes, n)
	clear(sc.recent[:])
	b := bericht.NewTreeBuilder(n, int(textBytes))
	line, at := 1, 0
	for i := range n {
		c := &nodes[i]
		slot := &sc.recent[(uintptr(unsafe.Pointer(c.name))>>3^uintptr(unsafe.Pointer(c.name))>>11)&255]
		if slot.p != c.name {
			slot.p, slot.id = c.name, bericht.NameID(unsafeString(c.name))
		}
		var startLine int32 // 0: unknown
		if off := int(c.offset); off >= at && off <= len(msg) {
			line += bytes.Count(msg[at:off], []byte{'\n'})
			at = off
			startLine = int32(line)
		}
		var txt []byte
		switch {
		case c.text != nil:
			txt = unsafe.Slice((*byte)(unsafe.Pointer(c.text)), int(c.textlen))
		case c.mixed != 0:
			txt = []byte(text(c.node))
		}
		b.Set(i, slot.id, int32(c.parent), int32(c.end), startLine, txt)
	}
	t := b.Tree()
	return t, nil
}
