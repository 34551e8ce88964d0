package sample

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/knooppunt/knooppunt/bericht"
)

// Default parties: three gemeenten (CBS codes) and three aanbieders (AGB
// codes). They are fictitious as parties in this switch; only the code
// formats are real.
var (
	DefaultGemeenten  = []string{"0363", "0384", "0599"}
	DefaultAanbieders = []string{"42420001", "65656055", "12345678"}
)

// Options steer one generated message. The zero value gives sensible
// defaults for every field.
type Options struct {
	// Afzender and Ontvanger are the header's parties. For a retourbericht
	// they are those of its header, which is copied from the heenbericht:
	// Afzender is then the party that receives the retour. Empty picks one
	// of DefaultGemeenten or DefaultAanbieders, as the berichtsoort
	// requires. The generator does not check values given here, so a caller
	// can make deliberately invalid messages.
	Afzender, Ontvanger string
	// Identificatie is the header's BerichtIdentificatie/Identificatie
	// (1–12 characters). Empty takes the generator's next unique one.
	Identificatie string
	// Dagtekening is the message date. The zero value means today (UTC).
	// Every other date in the message is derived from it and never lies
	// after it where the standard forbids that.
	Dagtekening time.Time
	// Clients is the number of clients in a declaratie (323/325); the
	// other messages carry exactly one client. 0 means 1.
	Clients int
	// Products is the number of product lines per client (ToegewezenProduct,
	// StartProduct, Prestatie, …). 0 means a random number from 1 to 3.
	// Up to 2600 lines get distinct ProductCodes.
	Products int
	// Violate names one rule of the standard (see Violations) the message
	// is to break while staying valid against the XSD, for negative tests
	// of the switch's level-2 checks. Empty means a valid message.
	Violate string
}

// AnswerOptions steer the answer to a heenbericht: its retourbericht or,
// for a 323, its 325. The zero value answers "approved".
type AnswerOptions struct {
	// Identificatie is IdentificatieRetour of a retour, or the 325's own
	// BerichtIdentificatie. Empty takes the generator's next unique one.
	Identificatie string
	// Dagtekening is DagtekeningRetour, or the 325's Dagtekening. The zero
	// value means today, or the heenbericht's Dagtekening if that is later.
	Dagtekening time.Time
	// RetourCodes, when set, reject the whole heenbericht on the header
	// (e.g. "0001" for a level-2 rejection, "8848" for TR135): the answer is
	// then only a header with these codes.
	RetourCodes []string
	// Reject, when set, is a retourcode of level 3 or 4 (e.g. "9063",
	// "9307") put on the first product line: the answer then carries the
	// body with 0200 on every other berichtklasse, as the standard builds
	// it. In a 325 the rejected Prestatie is listed and the toegekend total
	// lowered by its amount. Ignored when RetourCodes is set.
	Reject string
}

// Message is one generated message with its typed header.
type Message struct {
	Soort  bericht.Soort
	Header bericht.Header
	XML    []byte

	content any // the heenbericht's content, kept to build its answer
}

// Generator makes synthetic messages. It is deterministic: the same seed,
// the same sequence of calls with the same Options (and the same date when
// Dagtekening is left to default) give the same bytes. A Generator is not
// safe for concurrent use; give each goroutine its own, with its own seed.
type Generator struct {
	rng     *rand.Rand
	key     uint64 // seed-derived key for identifiers
	counter uint64 // identifiers issued so far
	nummers uint64 // ToewijzingNummers issued so far
	now     func() time.Time
	sizes   map[string]int // largest message so far per berichtsoort, to size buffers
}

// New returns a Generator for seed.
func New(seed int64) *Generator {
	s := uint64(seed)
	return &Generator{
		rng:   rand.New(rand.NewPCG(s, s^0x9e3779b97f4a7c15)),
		key:   splitmix(s),
		now:   time.Now,
		sizes: map[string]int{},
	}
}

// Heen generates a heen-type message (301, 305, 307, 315, 317, 319 or 323
// of either standard) and keeps its content so Answer can answer it.
func (g *Generator) Heen(s bericht.Soort, opt Options) (*Message, error) {
	return g.heen(s, opt, true)
}

// heen builds a heenbericht; without xml it only invents the content, for
// Generate to answer.
func (g *Generator) heen(s bericht.Soort, opt Options, xml bool) (*Message, error) {
	if s.Answers() {
		return nil, fmt.Errorf("generating %s: not a heenbericht (use Generate or Answer)", s.Name)
	}
	b, ok := builders[s.Number]
	if !ok {
		return nil, fmt.Errorf("generating %s: unknown berichtsoort", s.Name)
	}
	var v violation
	if opt.Violate != "" {
		var err error
		if v, err = violationFor(s, opt.Violate); err != nil {
			return nil, err
		}
		if v.dagtekening != nil {
			opt.Dagtekening = v.dagtekening(g)
		}
	}
	h := g.header(s, opt)
	content := b.build(g, s, opt, h)
	if v.apply != nil {
		v.apply(content)
	}
	if !xml {
		return &Message{Soort: s, Header: h, content: content}, nil
	}
	return g.emit(s, h, content), nil
}

// emit writes the heenbericht of berichtsoort s with header h and content.
func (g *Generator) emit(s bericht.Soort, h bericht.Header, content any) *Message {
	w := g.newWriter(s)
	writeHeader(w, s, h, nil)
	builders[s.Number].write(w, content, nil)
	return &Message{Soort: s, Header: h, XML: g.finish(s, w), content: content}
}

// Answer generates the answer to heen, which must come from Heen: the
// retourbericht for 301–319 (its header the heen header copied unchanged
// but for BerichtCode, plus IdentificatieRetour, DagtekeningRetour,
// XsdVersieRetour and RetourCodes), or the 325 declaratie-antwoord for a
// 323 (its own header with the parties swapped, referring to the 323).
func (g *Generator) Answer(heen *Message, opt AnswerOptions) (*Message, error) {
	if heen == nil || heen.content == nil {
		return nil, fmt.Errorf("answering: message was not made by Heen")
	}
	pair, ok := bericht.Lookup(heen.Soort.Pair)
	if !ok {
		return nil, fmt.Errorf("answering %s: no answer berichtsoort %q", heen.Soort.Name, heen.Soort.Pair)
	}
	if pair.Number == 325 {
		return g.declaratieAntwoord(heen, pair, opt), nil
	}
	return g.retour(heen, pair, opt), nil
}

// Generate makes any of the 28 berichtsoorten. For an answer it first
// invents the heenbericht (with opt's parties and date, swapped for a 325)
// and answers it as approved.
func (g *Generator) Generate(s bericht.Soort, opt Options) (*Message, error) {
	if !s.Answers() {
		return g.Heen(s, opt)
	}
	heenSoort, ok := bericht.Lookup(s.Pair)
	if !ok {
		return nil, fmt.Errorf("generating %s: unknown berichtsoort %q", s.Name, s.Pair)
	}
	if opt.Violate != "" {
		_, err := violationFor(s, opt.Violate)
		return nil, err
	}
	hopt := opt
	aopt := AnswerOptions{Dagtekening: opt.Dagtekening}
	if s.Number == 325 {
		hopt.Afzender, hopt.Ontvanger, hopt.Identificatie = opt.Ontvanger, opt.Afzender, ""
		aopt.Identificatie = opt.Identificatie
	}
	heen, err := g.heen(heenSoort, hopt, false)
	if err != nil {
		return nil, err
	}
	return g.Answer(heen, aopt)
}

// newWriter starts a message of berichtsoort s in a buffer as large as
// the largest one so far, so a message costs one allocation.
func (g *Generator) newWriter(s bericht.Soort) *writer {
	return newWriter(s, max(g.sizes[s.Name], 2048))
}

func (g *Generator) finish(s bericht.Soort, w *writer) []byte {
	b := w.Finish()
	if len(b) > g.sizes[s.Name] {
		g.sizes[s.Name] = len(b) + len(b)/8
	}
	return b
}

// today is the generator's notion of the current date (UTC midnight).
func (g *Generator) today() time.Time {
	return day(g.now().UTC())
}

func day(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// header fills the common header of a heen-type message.
func (g *Generator) header(s bericht.Soort, opt Options) bericht.Header {
	h := bericht.Header{
		Soort:                s,
		BerichtCode:          s.Code,
		Afzender:             opt.Afzender,
		Ontvanger:            opt.Ontvanger,
		Identificatie:        opt.Identificatie,
		BasisschemaXsdVersie: xsdVersie(s.Standard),
		BerichtXsdVersie:     xsdVersie(s.Standard),
	}
	if h.Afzender == "" {
		h.Afzender = g.party(s.Sender)
	}
	if h.Ontvanger == "" {
		h.Ontvanger = g.party(s.Receiver)
	}
	if h.Identificatie == "" {
		h.Identificatie = g.NextID()
	}
	d := opt.Dagtekening
	if d.IsZero() {
		d = g.today()
	}
	h.Dagtekening = day(d).Format(dateLayout)
	return h
}

func (g *Generator) party(r bericht.Role) string {
	if r == bericht.Gemeente {
		return pick(g, DefaultGemeenten)
	}
	return pick(g, DefaultAanbieders)
}

// xsdVersie is the version the schemas of a standard's release 3.2 carry in
// their appinfo: iWmo 1.0.0, iJw 0.1.0 (basisschema and messages alike).
func xsdVersie(std bericht.Standard) string {
	if std == bericht.IJw {
		return "0.1.0"
	}
	return "1.0.0"
}

// NextID returns a new message identificatie of 12 characters [0-9a-z]:
// the generator's counter passed through a permutation keyed by the seed,
// so identificaties never repeat within one generator (for 2^62 calls) and
// rarely across seeds.
func (g *Generator) NextID() string {
	g.counter++
	x := permute62(g.counter, g.key)
	const digits = "0123456789abcdefghijklmnopqrstuvwxyz"
	var b [12]byte
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = digits[x%36]
		x /= 36
	}
	return string(b[:])
}

// nextToewijzingNummer returns a ToewijzingNummer (LDT_Nummer, at most 9
// digits) that does not repeat within the generator for 2^29 calls (TR332),
// the same keyed permutation as NextID on 29 bits, offset to 9 digits.
func (g *Generator) nextToewijzingNummer() int {
	g.nummers++
	return 100_000_000 + int(permute(g.nummers, g.key, 29))
}

// permute62 is permute on 62 bits: 36^12 > 2^62, so the result always
// fits 12 base-36 digits.
func permute62(x, key uint64) uint64 { return permute(x, key, 62) }

// permute is a bijection on [0, 2^bits) keyed by key: xor with the key,
// odd multiplications and xor-shifts, each invertible modulo 2^bits.
func permute(x, key uint64, bits uint) uint64 {
	mask := uint64(1)<<bits - 1
	x = (x ^ key) & mask
	x = (x * 0xbf58476d1ce4e5b9) & mask
	x ^= x >> (bits / 2)
	x = (x * 0x94d049bb133111eb) & mask
	x ^= x >> (bits/2 - 1)
	return x
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// BSN returns a fictitious burgerservicenummer that passes the elfproef
// (CS002): 9·d1 + 8·d2 + … + 2·d8 − d9 is divisible by 11, not all zeros.
func (g *Generator) BSN() string {
	for {
		var d [9]byte
		sum := 0
		for i := range 8 {
			d[i] = byte(g.rng.IntN(10))
			sum += (9 - i) * int(d[i])
		}
		check := sum % 11
		if check == 10 || sum == 0 {
			continue
		}
		d[8] = byte(check)
		for i := range d {
			d[i] += '0'
		}
		return string(d[:])
	}
}

// Elfproef reports whether s is 9 digits that pass the BSN elfproef.
func Elfproef(s string) bool {
	if len(s) != 9 {
		return false
	}
	sum, zero := 0, true
	for i := range 9 {
		c := s[i]
		if c < '0' || c > '9' {
			return false
		}
		w := 9 - i
		if i == 8 {
			w = -1
		}
		sum += w * int(c-'0')
		zero = zero && c == '0'
	}
	return !zero && sum%11 == 0
}

func pick[T any](g *Generator, xs []T) T { return xs[g.rng.IntN(len(xs))] }

// between returns a random int in [lo, hi].
func (g *Generator) between(lo, hi int) int { return lo + g.rng.IntN(hi-lo+1) }

// chance is true with probability 1/n.
func (g *Generator) chance(n int) bool { return g.rng.IntN(n) == 0 }
