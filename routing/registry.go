package routing

import (
	"crypto/sha256"
	"crypto/x509"
	"slices"

	"github.com/knooppunt/knooppunt/bericht"
)

// Principal is an authenticated identity: a party (gemeente, aanbieder,
// samenwerkingsverband) or an operator, auditor or NZa user. Principals
// returned by a Registry are shared and must not be modified.
type Principal struct {
	// ID is the party code (CBS, AGB, "swv-…") or the principal's ID. For
	// a party it is also the name of its mailbox.
	ID   string
	Role Role
	Name string
	// Active is false for a party that may neither send nor receive (it
	// still authenticates, to empty its mailbox) and for a principal that
	// no longer authenticates.
	Active bool

	// The fields below are for parties only.

	// Gemeenten are the CBS codes a samenwerkingsverband handles, sorted.
	Gemeenten []string
	// HandledBy is the samenwerkingsverband handling a gemeente, or empty.
	HandledBy string
	// Retour, Delivery, PushURL and PushAck are the party's settings with
	// defaults applied (switch, poll, bv03).
	Retour   RetourMode
	Delivery Delivery
	PushURL  string
	PushAck  PushAck
	// CheckAanleveringen: the switch checks TR063 and TR074 on the 305s
	// and 307s sent to this gemeente (PartyConfig.CheckAanleveringen).
	CheckAanleveringen bool

	// SigningCertificates are the DER certificates the party signs its
	// SOAP requests with; RequireSignature refuses them unsigned.
	SigningCertificates [][]byte
	RequireSignature    bool

	// releases narrows the registry's releases for this party; nil: all.
	releases map[bericht.Standard][]string
}

// Releases returns the active releases of std for this party; nil when it
// follows the registry.
func (p *Principal) Releases(std bericht.Standard) []string {
	if p.releases == nil {
		return nil
	}
	return slices.Clone(p.releases[std])
}

// Registry is the address book of the switch: parties, principals,
// credentials and active releases. It is immutable and safe for concurrent
// use.
type Registry struct {
	tokens     bool
	store      string
	stufAddr   string
	releases   map[bericht.Standard][]string
	principals map[string]*Principal
	ids        []string // sorted

	byFingerprint map[[32]byte]certMatch
	bySubject     map[string]*Principal
	byToken       map[[32]byte]tokenMatch
}

// tokenMatch is a token credential with its digest, for the constant-time
// confirmation of a map hit.
type tokenMatch struct {
	p   *Principal
	sum [32]byte
}

// certMatch is a fingerprint credential, optionally bound to a subject.
type certMatch struct {
	p       *Principal
	subject string
}

// New validates cfg and builds the registry from it. cfg is not modified.
func New(cfg Config) (*Registry, error) {
	signing, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	r := &Registry{
		tokens:        cfg.Tokens,
		store:         cfg.Store,
		stufAddr:      cfg.StUFAddr,
		releases:      toReleases(cfg.Releases),
		principals:    map[string]*Principal{},
		byFingerprint: map[[32]byte]certMatch{},
		bySubject:     map[string]*Principal{},
		byToken:       map[[32]byte]tokenMatch{},
	}
	if r.releases == nil {
		r.releases = toReleases(defaultReleases())
	}
	for _, pc := range cfg.Parties {
		p := &Principal{
			ID: pc.Code, Role: pc.Role, Name: pc.Name, Active: pc.Active == nil || *pc.Active,
			Gemeenten: slices.Sorted(slices.Values(pc.Gemeenten)),
			Retour:    pc.Retour, Delivery: pc.Delivery, PushURL: pc.PushURL, PushAck: pc.PushAck,
			releases:            toReleases(pc.Releases),
			SigningCertificates: signing[pc.Code], RequireSignature: pc.RequireSignature,
			CheckAanleveringen: pc.CheckAanleveringen,
		}
		if p.PushAck == "" {
			p.PushAck = PushAckBv03
		}
		if p.Retour == "" {
			p.Retour = RetourSwitch
		}
		if p.Delivery == "" {
			p.Delivery = DeliveryPoll
		}
		r.add(p, pc.Credentials)
	}
	for _, pc := range cfg.Principals {
		r.add(&Principal{ID: pc.ID, Role: pc.Role, Name: pc.Name, Active: pc.Active == nil || *pc.Active}, pc.Credentials)
	}
	for _, p := range r.principals {
		for _, g := range p.Gemeenten {
			r.principals[g].HandledBy = p.ID
		}
	}
	r.ids = slices.Sorted(func(yield func(string) bool) {
		for id := range r.principals {
			if !yield(id) {
				return
			}
		}
	})
	return r, nil
}

// add registers p and its credentials, which Validate has checked. An
// inactive operator, auditor or NZa principal cannot authenticate; an
// inactive party can, to read what is left in its mailbox.
func (r *Registry) add(p *Principal, c Credentials) {
	r.principals[p.ID] = p
	if !p.Active && !p.Role.IsParty() {
		return
	}
	for _, cert := range c.Certificates {
		if cert.SHA256 == "" {
			r.bySubject[cert.Subject] = p
			continue
		}
		sum, _ := parseFingerprint(cert.SHA256)
		r.byFingerprint[sum] = certMatch{p: p, subject: cert.Subject}
	}
	for _, t := range c.TokenSHA256 {
		sum, _ := parseDigest(t)
		r.byToken[sum] = tokenMatch{p: p, sum: sum}
	}
}

func toReleases(m map[string][]string) map[bericht.Standard][]string {
	if m == nil {
		return nil
	}
	out := make(map[bericht.Standard][]string, len(m))
	for std, rel := range m {
		out[bericht.Standard(std)] = slices.Clone(rel)
	}
	return out
}

// TokensEnabled reports whether bearer tokens authenticate.
func (r *Registry) TokensEnabled() bool { return r.tokens }

// Store is the file's store setting (Config.Store): empty for Pebble.
func (r *Registry) Store() string { return r.store }

// StUFAddr is the registry file's StUF-GGk endpoint address; "" when none.
func (r *Registry) StUFAddr() string { return r.stufAddr }

// Pushed lists the parties delivered to by push (delivery: push), in
// registry order.
func (r *Registry) Pushed() []*Principal {
	var out []*Principal
	for _, p := range r.Principals() {
		if p.Delivery == DeliveryPush {
			out = append(out, p)
		}
	}
	return out
}

// ChecksAanleveringen reports whether any gemeente has
// check_aanleveringen on.
func (r *Registry) ChecksAanleveringen() bool {
	for _, p := range r.principals {
		if p.CheckAanleveringen {
			return true
		}
	}
	return false
}

// Principal finds a party or principal by its code or ID.
func (r *Registry) Principal(id string) (*Principal, bool) {
	p, ok := r.principals[id]
	return p, ok
}

// Party finds a party by its code; operators and the like are no parties.
func (r *Registry) Party(code string) (*Principal, bool) {
	p, ok := r.principals[code]
	if !ok || !p.Role.IsParty() {
		return nil, false
	}
	return p, true
}

// Principals returns every party and principal, sorted by ID.
func (r *Registry) Principals() []*Principal {
	out := make([]*Principal, len(r.ids))
	for i, id := range r.ids {
		out[i] = r.principals[id]
	}
	return out
}

// ByCertificate finds the principal a verified client certificate belongs
// to: by fingerprint first (and subject, when the registry binds both),
// then by subject alone.
func (r *Registry) ByCertificate(cert *x509.Certificate) (*Principal, bool) {
	if cert == nil {
		return nil, false
	}
	subject := cert.Subject.String()
	if m, ok := r.byFingerprint[Fingerprint(cert)]; ok {
		if m.subject != "" && m.subject != subject {
			return nil, false
		}
		return m.p, true
	}
	return r.BySubject(subject)
}

// ByFingerprint finds the principal of a certificate fingerprint that is
// registered without a subject binding.
func (r *Registry) ByFingerprint(sum [32]byte) (*Principal, bool) {
	m, ok := r.byFingerprint[sum]
	if !ok || m.subject != "" {
		return nil, false
	}
	return m.p, true
}

// BySubject finds the principal registered with this certificate subject
// alone.
func (r *Registry) BySubject(subject string) (*Principal, bool) {
	p, ok := r.bySubject[subject]
	return p, ok
}

// ByToken finds the principal of a bearer token; never when tokens are
// disabled. The registry holds only SHA-256 digests: the token is hashed and
// the digest looked up, so lookup time depends on the digest, which tells an
// attacker nothing about valid tokens, and the match is confirmed in
// constant time.
func (r *Registry) ByToken(token string) (*Principal, bool) {
	if !r.tokens || token == "" {
		return nil, false
	}
	sum := sha256.Sum256([]byte(token))
	m, ok := r.byToken[sum]
	if !ok || !equalDigest(m.sum, sum) {
		return nil, false
	}
	return m.p, true
}

// MailboxOf is the party whose mailbox receives messages for code: the
// samenwerkingsverband that handles a gemeente, else the party itself. It
// reports false for a code that is no party.
func (r *Registry) MailboxOf(code string) (string, bool) {
	p, ok := r.Party(code)
	if !ok {
		return "", false
	}
	if p.HandledBy != "" {
		return p.HandledBy, true
	}
	return p.ID, true
}

// MayActFor reports whether p may send as the party code: p is that active
// party, or an active samenwerkingsverband that handles it.
func (r *Registry) MayActFor(p *Principal, code string) bool {
	if p == nil || !p.Active || !p.Role.IsParty() {
		return false
	}
	if p.ID == code {
		return true
	}
	party, ok := r.Party(code)
	return ok && p.Role == Samenwerkingsverband && party.HandledBy == p.ID
}

// ReleaseActive reports whether the registry carries release of std.
func (r *Registry) ReleaseActive(std bericht.Standard, release string) bool {
	return slices.Contains(r.releases[std], release)
}

// releaseActiveFor adds the party's own narrowing to ReleaseActive.
func (r *Registry) releaseActiveFor(p *Principal, std bericht.Standard, release string) bool {
	return r.ReleaseActive(std, release) && (p.releases == nil || slices.Contains(p.releases[std], release))
}
