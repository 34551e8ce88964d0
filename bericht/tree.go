package bericht

import (
	"iter"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Tree is a read-only view of a validated message: its elements in document
// order, each with its local name, parent, extent and direct text. It is
// what the level-2 rules (package rules) and the products run on; package
// xsd builds it from the document libxml2 parsed for validation, in one
// pass in C (TreeBuilder), so checking rules needs no second parse.
//
// An element is addressed by its index. The root (Bericht) is 0; the
// descendants of i are the indexes i+1 up to End(i). A Tree holds copies of
// names and texts and no reference to the message or to C memory.
type Tree struct {
	elems []elem
	text  []byte // the texts of all elements, one after the other
	// names is the name table as it stood after the walk;
	// byName[start[k]:start[k+1]] are the elements with name id k, in
	// document order.
	names  *nameTable
	byName []int32
	start  []int32
}

// elem holds no pointers, so the collector never scans a Tree's elements.
type elem struct {
	textOff, textLen int32 // the element's text is text[textOff:textOff+textLen]
	parent           int32
	end              int32
	line             int32
	nameID           int32
}

// nameTable numbers every element name the walks have met. It only grows,
// and is replaced, never changed, so readers need no lock. Only valid
// documents are walked, so the names are those of the schemas: it stays
// small.
type nameTable struct {
	ids   map[string]int32
	names []string
}

var (
	names   atomic.Pointer[nameTable]
	namesMu sync.Mutex // serialises growing the table
)

func init() { names.Store(&nameTable{ids: map[string]int32{}}) }

// NameID returns the number of element name s, numbering it when it is
// new; s is copied then, so it may point into memory the caller reuses.
// The table only grows: number only the names of valid messages (those
// the schemas define).
func NameID(s string) int32 {
	if id, ok := names.Load().ids[s]; ok {
		return id
	}
	namesMu.Lock()
	defer namesMu.Unlock()
	cur := names.Load()
	if id, ok := cur.ids[s]; ok {
		return id
	}
	id := int32(len(cur.names))
	next := &nameTable{ids: maps.Clone(cur.ids), names: append(slices.Clip(cur.names), strings.Clone(s))}
	next.ids[next.names[id]] = id
	names.Store(next)
	return id
}

// TreeBuilder makes a Tree of elements walked in document order: package
// xsd's walk of a validated document is its user.
type TreeBuilder struct{ t *Tree }

// NewTreeBuilder starts a Tree of n elements whose texts take textBytes
// bytes together.
func NewTreeBuilder(n, textBytes int) TreeBuilder {
	return TreeBuilder{t: &Tree{elems: make([]elem, n), text: make([]byte, 0, textBytes)}}
}

// Set describes element i: its name's number (NameID), its parent's index
// (-1 for the root), the index just past its last descendant, the line of
// its start tag (0 if unknown) and its direct text, which is copied.
func (b TreeBuilder) Set(i int, nameID, parent, end, line int32, text []byte) {
	t := b.t
	e := &t.elems[i]
	e.nameID, e.parent, e.end, e.line = nameID, parent, end, line
	if len(text) > 0 {
		e.textOff, e.textLen = int32(len(t.text)), int32(len(text))
		t.text = append(t.text, text...)
	}
}

// Tree indexes the elements set and returns the Tree; the builder is done.
func (b TreeBuilder) Tree() *Tree {
	b.t.names = names.Load()
	b.t.index()
	return b.t
}

// index sorts the element indexes by name (a counting sort: stable, so each
// name's run stays in document order).
func (t *Tree) index() {
	t.start = make([]int32, len(t.names.names)+1)
	for i := range t.elems {
		t.start[t.elems[i].nameID+1]++
	}
	for k := 1; k < len(t.start); k++ {
		t.start[k] += t.start[k-1]
	}
	t.byName = make([]int32, len(t.elems))
	next := slices.Clone(t.start[:len(t.names.names)])
	for i := range t.elems {
		id := t.elems[i].nameID
		t.byName[next[id]] = int32(i)
		next[id]++
	}
}

// named returns the indexes of the elements named name, in document order.
func (t *Tree) named(name string) []int32 {
	k, ok := t.names.ids[name]
	if !ok || int(k)+1 >= len(t.start) {
		return nil
	}
	return t.byName[t.start[k]:t.start[k+1]]
}

// Len is the number of elements.
func (t *Tree) Len() int { return len(t.elems) }

// Name is the local name of element i.
func (t *Tree) Name(i int) string { return t.names.names[t.elems[i].nameID] }

// Text is the text directly inside element i, as written (not
// whitespace-trimmed); "" for an element with element children.
func (t *Tree) Text(i int) string {
	e := &t.elems[i]
	if e.textLen == 0 {
		return ""
	}
	return unsafe.String(&t.text[e.textOff], int(e.textLen))
}

// Parent is the index of i's parent element, -1 for the root.
func (t *Tree) Parent(i int) int { return int(t.elems[i].parent) }

// End is the index just past i's last descendant.
func (t *Tree) End(i int) int { return int(t.elems[i].end) }

// Line is the 1-based line of element i's start tag, 0 if unknown.
func (t *Tree) Line(i int) int { return int(t.elems[i].line) }

// Children yields the child elements of i in document order.
func (t *Tree) Children(i int) iter.Seq[int] {
	return func(yield func(int) bool) {
		for c, end := i+1, t.End(i); c < end; c = t.End(c) {
			if !yield(c) {
				return
			}
		}
	}
}

// Child returns the first child of i named name, or -1. With several names
// it follows the path down: Child(i, "Product", "Code").
func (t *Tree) Child(i int, path ...string) int {
	for _, name := range path {
		if i < 0 {
			return -1
		}
		found := -1
		for c, end := i+1, t.End(i); c < end; c = t.End(c) {
			if t.Name(c) == name {
				found = c
				break
			}
		}
		i = found
	}
	return i
}

// Value returns the trimmed text of the element at path under i and whether
// that element is present.
func (t *Tree) Value(i int, path ...string) (string, bool) {
	c := t.Child(i, path...)
	if c < 0 {
		return "", false
	}
	return strings.TrimSpace(t.Text(c)), true
}

// All yields, in document order, every element under i (i included) named
// name. It looks the name up in an index, so a search of the whole document
// costs only the elements it yields.
func (t *Tree) All(i int, name string) iter.Seq[int] {
	return func(yield func(int) bool) {
		list := t.named(name)
		k, _ := slices.BinarySearch(list, int32(i))
		for end := int32(t.End(i)); k < len(list) && list[k] < end; k++ {
			if !yield(int(list[k])) {
				return
			}
		}
	}
}

// Path is the location of element i for people and retourberichten, e.g.
// /Bericht/Clienten/Client[2]/Bsn: a position is given where an element has
// same-named siblings before or after it.
func (t *Tree) Path(i int) string {
	var chain []int
	for c := i; c >= 0; c = t.Parent(c) {
		chain = append(chain, c)
	}
	var b strings.Builder
	for k := len(chain) - 1; k >= 0; k-- {
		c := chain[k]
		b.WriteByte('/')
		b.WriteString(t.Name(c))
		p := t.Parent(c)
		if p < 0 {
			continue
		}
		pos, count := 0, 0
		for s := range t.Children(p) {
			if t.elems[s].nameID == t.elems[c].nameID {
				count++
				if s == c {
					pos = count
				}
			}
		}
		if count > 1 {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(pos))
			b.WriteByte(']')
		}
	}
	return b.String()
}
