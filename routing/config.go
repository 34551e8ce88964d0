package routing

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/knooppunt/knooppunt/bericht"
)

// Config is the registry file as decoded; README.md documents every key.
// Build a Registry from it with New, which validates it first.
type Config struct {
	// dir resolves relative pem_file paths; set by Load.
	dir string

	// Tokens allows bearer tokens besides client certificates. Default
	// false: production authenticates with mutual TLS only.
	Tokens bool `yaml:"tokens"`
	// Releases are the active releases per standard ("iwmo", "ijw"). When
	// absent, iwmo 3.2 and ijw 3.2 are active; when present, exactly the
	// listed ones are, and a standard left out is inactive.
	Releases map[string][]string `yaml:"releases"`
	// Parties are the gemeenten, aanbieders and samenwerkingsverbanden.
	Parties []PartyConfig `yaml:"parties"`
	// Principals are the operators, auditors and NZa users.
	Principals []PrincipalConfig `yaml:"principals"`
	// Store is the switch's store backend: empty for the embedded Pebble
	// store, or a NATS JetStream cluster as nats://host:4222[,nats://…]
	// [?replicas=N] (tls:// for TLS). The switch reads it at start only
	// (serve's --store overrides it); a reload keeps the store in use.
	Store string `yaml:"store"`
	// StUFAddr is the address of the StUF-GGk SOAP endpoint for gemeenten
	// (docs/stuf.md), e.g. "0.0.0.0:8443"; empty: none. Read at start only
	// (serve's --stuf-addr overrides it).
	StUFAddr string `yaml:"stuf_addr"`
}

// PartyConfig is one party of the registry file.
type PartyConfig struct {
	// Code identifies the party: 4-digit CBS code for a gemeente, 8-digit
	// AGB code for an aanbieder, "swv-…" for a samenwerkingsverband.
	Code string `yaml:"code"`
	// Role is gemeente, aanbieder or samenwerkingsverband.
	Role Role `yaml:"role"`
	// Name is for people: dashboards and the dev listing. Required.
	Name string `yaml:"name"`
	// Active, default true. An inactive party can neither send nor
	// receive; its mailbox stays readable.
	Active *bool `yaml:"active"`
	// Credentials authenticate the party.
	Credentials Credentials `yaml:"credentials"`
	// Gemeenten are the CBS codes a samenwerkingsverband handles; only for
	// that role, and at least one.
	Gemeenten []string `yaml:"gemeenten"`
	// Retour says who answers a heenbericht that breaks a rule of control
	// level 2: "switch" (default) or "recipient".
	Retour RetourMode `yaml:"retour"`
	// Delivery is how the party receives: "poll" (default) or "push".
	Delivery Delivery `yaml:"delivery"`
	// PushURL is the https endpoint for delivery: push.
	PushURL string `yaml:"push_url"`
	// PushAck says what confirms a push to a gemeente's SOAP endpoint:
	// "bv03" (default), a Bv03 answer (signed when the gemeente must
	// sign), or "http", any 2xx status, for endpoints that answer
	// plainly. Aanbieders' REST pushes are confirmed by any 2xx.
	PushAck PushAck `yaml:"push_ack"`
	// CheckAanleveringen, for a gemeente, makes the switch check the 305s
	// and 307s sent to it against the aanleveringen received before
	// (TR063, TR074: level 3, docs/rules.md) and answer a breach itself.
	// Default false: the standard leaves level 3 to the recipient.
	CheckAanleveringen bool `yaml:"check_aanleveringen"`
	// Releases narrows the registry's active releases for this party, e.g.
	// an aanbieder that only does Jeugdwet. Absent: all active releases.
	Releases map[string][]string `yaml:"releases"`
	// SigningCertificates are the certificates the party signs its SOAP
	// requests with (WS-Security); several allow a rollover.
	SigningCertificates []SigningCertificateConfig `yaml:"signing_certificates"`
	// RequireSignature refuses the party's SOAP requests without a valid
	// signature made with one of SigningCertificates (then required).
	// Default false: a signature is checked when present and a
	// certificate is registered.
	RequireSignature bool `yaml:"require_signature"`

	// Line is the party's line in the file, set by Parse for messages.
	Line int `yaml:"-"`
}

// SigningCertificateConfig is one WS-Security signing certificate: the PEM
// text, or a file holding it, optionally pinned by its SHA-256 fingerprint
// (which must then match).
type SigningCertificateConfig struct {
	// PEM is the certificate, one PEM "CERTIFICATE" block.
	PEM string `yaml:"pem"`
	// PEMFile is a file holding the PEM; a relative path is relative to
	// the registry file's directory (to the working directory for Parse).
	PEMFile string `yaml:"pem_file"`
	// SHA256 is the fingerprint of the certificate's DER encoding, as in
	// CertificateConfig.
	SHA256 string `yaml:"sha256"`
}

// PrincipalConfig is one operator, auditor or NZa principal.
type PrincipalConfig struct {
	// ID names the principal in the audit trail: a lowercase name.
	ID string `yaml:"id"`
	// Role is operator, auditor or nza.
	Role Role `yaml:"role"`
	// Name is for people. Required.
	Name string `yaml:"name"`
	// Active, default true. An inactive principal cannot authenticate.
	Active *bool `yaml:"active"`
	// Credentials authenticate the principal; at least one is required.
	Credentials Credentials `yaml:"credentials"`

	// Line is the principal's line in the file, set by Parse for messages.
	Line int `yaml:"-"`
}

// Credentials are the ways a principal authenticates. Each certificate and
// each token belongs to exactly one principal.
type Credentials struct {
	// Certificates match client certificates (mutual TLS).
	Certificates []CertificateConfig `yaml:"certificates"`
	// TokenSHA256 are hex SHA-256 digests of bearer tokens; several allow
	// a rollover. Only with Tokens enabled.
	TokenSHA256 []string `yaml:"token_sha256"`
}

// CertificateConfig matches a client certificate by the SHA-256 fingerprint
// of its DER encoding, by its subject, or by both (then both must match).
type CertificateConfig struct {
	// SHA256 is the fingerprint: 64 hex digits, colons between bytes
	// allowed, any case.
	SHA256 string `yaml:"sha256"`
	// Subject is the distinguished name as Go's pkix.Name.String prints it
	// (RFC 2253 order), e.g. "CN=zorg.example,O=Zorg BV,C=NL". A match on
	// subject alone trusts every certificate the gateway's CA pool accepts
	// with that subject.
	Subject string `yaml:"subject"`
}

// RetourMode says who answers a heenbericht that fails a level-2 rule.
type RetourMode string

// The retour modes.
const (
	RetourSwitch    RetourMode = "switch"    // the switch builds the retour
	RetourRecipient RetourMode = "recipient" // the message is delivered; the recipient answers
)

// PushAck says what confirms a push (Party.PushAck).
type PushAck string

// The acknowledgements of a push.
const (
	PushAckBv03 PushAck = "bv03" // a Bv03 answer, signed when the party must sign
	PushAckHTTP PushAck = "http" // any 2xx status
)

// Delivery says how a party receives its messages.
type Delivery string

// The delivery modes.
const (
	DeliveryPoll Delivery = "poll" // the party polls its mailbox
	DeliveryPush Delivery = "push" // the switch posts to PushURL
)

// MaxFileSize bounds a registry file: far above a national registry of some
// 20,000 parties, far below what would hurt the process.
const MaxFileSize = 64 << 20

// Problem is one thing wrong with a registry file.
type Problem struct {
	Line int // 0 when not known
	Msg  string
}

// String is the problem as an operator reads it, e.g.
// `line 12: party "0384": name is required`.
func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("line %d: %s", p.Line, p.Msg)
	}
	return p.Msg
}

// ConfigError lists every problem found in a registry file, so an operator
// fixes them in one go.
type ConfigError struct {
	Problems []Problem
}

// Error lists the problems, one per line.
func (e *ConfigError) Error() string {
	var b strings.Builder
	if len(e.Problems) == 1 {
		b.WriteString("registry: 1 problem:")
	} else {
		fmt.Fprintf(&b, "registry: %d problems:", len(e.Problems))
	}
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}

// CheckStoreURL checks the form of a store setting: empty, or one or more
// comma-separated nats:// or tls:// URLs with a host, the last optionally
// with a query (?replicas=N, read by the store). Reaching the servers is
// left to the start.
func CheckStoreURL(s string) error {
	if s == "" {
		return nil
	}
	for part := range strings.SplitSeq(s, ",") {
		u, err := url.Parse(strings.TrimSpace(part))
		if err != nil || (u.Scheme != "nats" && u.Scheme != "tls") || u.Host == "" {
			return fmt.Errorf("%q is not a nats://host:port URL (the Pebble store needs no setting)", part)
		}
	}
	return nil
}

// Load reads and parses the registry file at path.
func Load(path string) (*Registry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading registry: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading registry %s: %w", path, err)
	}
	r, err := parse(data, filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("registry %s: %w", path, err)
	}
	return r, nil
}

// Parse decodes a registry file, validates it and builds the Registry.
// Every problem — syntax aside, which stops decoding — comes back in one
// *ConfigError sorted by line: unknown keys, wrong types and the problems
// Validate finds.
func Parse(data []byte) (*Registry, error) { return parse(data, "") }

func parse(data []byte, dir string) (*Registry, error) {
	cfg, keyProblems, err := decodeConfig(data)
	if err != nil {
		return nil, err
	}
	cfg.dir = dir
	if len(keyProblems) == 0 {
		if r, err := New(cfg); err == nil {
			return r, nil
		}
	}
	// Parse the file again for the line of each party: a valid file, the
	// common case, is parsed once.
	addLines(data, &cfg)
	problems := keyProblems
	var ce *ConfigError
	if errors.As(cfg.Validate(), &ce) {
		problems = append(problems, ce.Problems...)
	}
	slices.SortStableFunc(problems, func(a, b Problem) int { return a.Line - b.Line })
	return nil, &ConfigError{Problems: problems}
}

// ParseConfig decodes a registry file into a Config, with the Line of each
// party and principal, without validating it beyond its syntax and keys.
func ParseConfig(data []byte) (Config, error) {
	cfg, problems, err := decodeConfig(data)
	if err != nil {
		return cfg, err
	}
	addLines(data, &cfg)
	if len(problems) > 0 {
		return cfg, &ConfigError{Problems: problems}
	}
	return cfg, nil
}

// decodeConfig decodes a registry file strictly. Unknown keys and values of
// the wrong type are problems, returned with what could be decoded; broken
// syntax, duplicate keys and a second document are an error.
func decodeConfig(data []byte) (Config, []Problem, error) {
	var cfg Config
	if len(data) > MaxFileSize {
		return cfg, nil, &ConfigError{Problems: []Problem{{Msg: fmt.Sprintf("file larger than %d bytes", MaxFileSize)}}}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var problems []Problem
	err := dec.Decode(&cfg)
	var te *yaml.TypeError
	switch {
	case err == nil, errors.Is(err, io.EOF):
	case errors.As(err, &te) && !duplicateKey(te):
		problems = yamlProblems(err)
	default:
		return cfg, nil, &ConfigError{Problems: yamlProblems(err)}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return cfg, nil, &ConfigError{Problems: []Problem{{Line: extra.Line, Msg: "more than one YAML document; a registry file holds one"}}}
	}
	return cfg, problems, nil
}

// duplicateKey reports whether a decoder error names a key defined twice,
// after which the decoded value is not to be trusted.
func duplicateKey(te *yaml.TypeError) bool {
	for _, m := range te.Errors {
		if strings.Contains(m, "already defined") {
			return true
		}
	}
	return false
}

// addLines sets the Line of each party and principal of cfg, decoded from
// data.
func addLines(data []byte, cfg *Config) {
	var root yaml.Node
	if yaml.Unmarshal(data, &root) != nil {
		return
	}
	partyLines, principalLines := itemLines(&root, "parties"), itemLines(&root, "principals")
	for i := range cfg.Parties {
		if i < len(partyLines) {
			cfg.Parties[i].Line = partyLines[i]
		}
	}
	for i := range cfg.Principals {
		if i < len(principalLines) {
			cfg.Principals[i].Line = principalLines[i]
		}
	}
}

// yamlLine recognises the "line N: " prefix of the decoder's messages.
var (
	yamlLine     = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
	yamlUnknown  = regexp.MustCompile(`^field (.*) not found in type .*$`)
	yamlTypeName = regexp.MustCompile(` into routing\.[A-Za-z]+`)
)

// yamlProblems turns a decoder error into problems with line numbers and
// without Go type names.
func yamlProblems(err error) []Problem {
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{err.Error()}
	}
	problems := make([]Problem, 0, len(msgs))
	for _, m := range msgs {
		p := Problem{Msg: m}
		if sub := yamlLine.FindStringSubmatch(m); sub != nil {
			fmt.Sscan(sub[1], &p.Line)
			p.Msg = sub[2]
		}
		if sub := yamlUnknown.FindStringSubmatch(p.Msg); sub != nil {
			p.Msg = fmt.Sprintf("unknown key %q", sub[1])
		}
		p.Msg = yamlTypeName.ReplaceAllString(p.Msg, "")
		problems = append(problems, p)
	}
	return problems
}

// itemLines returns the line of each item of the top-level sequence key.
func itemLines(root *yaml.Node, key string) []int {
	if root.Kind != yaml.DocumentNode || len(root.Content) == 0 {
		return nil
	}
	m := root.Content[0]
	if m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value != key || m.Content[i+1].Kind != yaml.SequenceNode {
			continue
		}
		lines := make([]int, len(m.Content[i+1].Content))
		for j, item := range m.Content[i+1].Content {
			lines[j] = item.Line
		}
		return lines
	}
	return nil
}

// defaultReleases are active when the file names none.
func defaultReleases() map[string][]string {
	return map[string][]string{string(bericht.IWmo): {bericht.Release}, string(bericht.IJw): {bericht.Release}}
}

// Validate reports every problem of the configuration in one *ConfigError,
// or nil when there is none.
func (c *Config) Validate() error {
	_, err := c.validate()
	return err
}

// validate is Validate that also returns each party's signing
// certificates (DER), read once.
func (c *Config) validate() (map[string][][]byte, error) {
	v := validator{ids: map[string]int{}, certs: map[[32]byte]string{}, subjects: map[string]string{}, pinned: map[string]bool{}, tokens: map[[32]byte]string{}, signing: map[string][][]byte{}}
	v.check(c)
	if len(v.problems) == 0 {
		return v.signing, nil
	}
	return nil, &ConfigError{Problems: v.problems}
}

type validator struct {
	problems []Problem
	ids      map[string]int // principal ID → line
	certs    map[[32]byte]string
	subjects map[string]string // certificate subject → who has it
	pinned   map[string]bool   // subject only with a fingerprint so far
	tokens   map[[32]byte]string
	signing  map[string][][]byte // party → signing certificates (DER)
}

func (v *validator) add(line int, format string, args ...any) {
	v.problems = append(v.problems, Problem{Line: line, Msg: fmt.Sprintf(format, args...)})
}

func (v *validator) check(c *Config) {
	releases := c.Releases
	if releases == nil {
		releases = defaultReleases()
	}
	v.releases(0, "releases", releases, nil)
	if err := CheckStoreURL(c.Store); err != nil {
		v.add(0, "store: %v", err)
	}
	if len(c.Parties) == 0 {
		v.add(0, "no parties")
	}
	roles := map[string]Role{} // code → role, of all parties
	for _, p := range c.Parties {
		roles[p.Code] = p.Role
	}
	handledBy := map[string]string{} // gemeente → samenwerkingsverband
	for _, p := range c.Parties {
		what := fmt.Sprintf("party %q", p.Code)
		v.id(p.Line, what, p.Code, p.Role, true)
		if p.Name == "" {
			v.add(p.Line, "%s: name is required", what)
		}
		v.credentials(p.Line, what, p.Credentials, c.Tokens, false)
		if p.Role == Samenwerkingsverband {
			if len(p.Gemeenten) == 0 {
				v.add(p.Line, "%s: a samenwerkingsverband lists the gemeenten it handles", what)
			}
			seen := map[string]bool{}
			for _, g := range p.Gemeenten {
				switch role, ok := roles[g]; {
				case seen[g]:
					v.add(p.Line, "%s: gemeente %q listed twice", what, g)
				case !ok:
					v.add(p.Line, "%s: gemeente %q is not a party of the registry", what, g)
				case role != Gemeente:
					v.add(p.Line, "%s: %q is %s, not a gemeente", what, g, role.withArticle())
				case handledBy[g] != "":
					v.add(p.Line, "%s: gemeente %q is already handled by %q", what, g, handledBy[g])
				default:
					handledBy[g] = p.Code
				}
				seen[g] = true
			}
		} else if len(p.Gemeenten) > 0 {
			v.add(p.Line, "%s: only a samenwerkingsverband lists gemeenten", what)
		}
		switch p.Retour {
		case "", RetourSwitch, RetourRecipient:
		default:
			v.add(p.Line, "%s: retour must be %q or %q, not %q", what, RetourSwitch, RetourRecipient, p.Retour)
		}
		switch p.Delivery {
		case "", DeliveryPoll:
			if p.PushURL != "" {
				v.add(p.Line, "%s: push_url is set but delivery is not push", what)
			}
		case DeliveryPush:
			v.pushURL(p.Line, what, p.PushURL)
		default:
			v.add(p.Line, "%s: delivery must be %q or %q, not %q", what, DeliveryPoll, DeliveryPush, p.Delivery)
		}
		switch {
		case p.PushAck == "":
		case p.Delivery != DeliveryPush:
			v.add(p.Line, "%s: push_ack is set but delivery is not push", what)
		case p.Role == Aanbieder:
			v.add(p.Line, "%s: push_ack is for gemeenten' SOAP endpoints; an aanbieder's push is confirmed by any 2xx", what)
		case p.PushAck != PushAckBv03 && p.PushAck != PushAckHTTP:
			v.add(p.Line, "%s: push_ack must be %q or %q, not %q", what, PushAckBv03, PushAckHTTP, p.PushAck)
		}
		if p.CheckAanleveringen && p.Role != Gemeente {
			v.add(p.Line, "%s: check_aanleveringen is for gemeenten, the recipients of 305 and 307", what)
		}
		if p.Releases != nil {
			v.releases(p.Line, what+": releases", p.Releases, releases)
		}
		v.signingCertificates(p.Line, what, c.dir, p)
	}
	for _, p := range c.Principals {
		what := fmt.Sprintf("principal %q", p.ID)
		v.id(p.Line, what, p.ID, p.Role, false)
		if p.Name == "" {
			v.add(p.Line, "%s: name is required", what)
		}
		v.credentials(p.Line, what, p.Credentials, c.Tokens, true)
	}
}

// id checks a party code or principal ID and that it is unique.
func (v *validator) id(line int, what, id string, role Role, party bool) {
	switch {
	case party && !role.IsParty():
		v.add(line, "%s: role must be gemeente, aanbieder or samenwerkingsverband, not %q", what, role)
	case !party && (role.IsParty() || role == ""):
		v.add(line, "%s: role must be operator, auditor or nza, not %q (parties go under parties)", what, role)
	case !party && role != Operator && role != Auditor && role != NZa:
		v.add(line, "%s: role must be operator, auditor or nza, not %q", what, role)
	default:
		if ok, scheme := validID(role, id); !ok {
			v.add(line, "%s: %s is identified by %s", what, role.withArticle(), scheme)
		}
	}
	if first, dup := v.ids[id]; dup {
		if first > 0 {
			v.add(line, "%s: duplicate, first defined at line %d", what, first)
		} else {
			v.add(line, "%s: defined twice", what)
		}
		return
	}
	v.ids[id] = line
}

func (v *validator) credentials(line int, what string, c Credentials, tokens, required bool) {
	if required && len(c.Certificates) == 0 && len(c.TokenSHA256) == 0 {
		v.add(line, "%s: has no credentials", what)
	}
	for _, cert := range c.Certificates {
		if cert.SHA256 == "" && cert.Subject == "" {
			v.add(line, "%s: a certificate needs sha256, subject or both", what)
			continue
		}
		if cert.SHA256 != "" {
			sum, err := parseFingerprint(cert.SHA256)
			switch {
			case err != nil:
				v.add(line, "%s: certificate sha256: %v", what, err)
			case v.certs[sum] != "":
				v.add(line, "%s: certificate fingerprint already belongs to %s", what, v.certs[sum])
			default:
				v.certs[sum] = what
			}
		}
		// A subject alone matches every certificate with that subject, so
		// it may be no one else's, pinned or not.
		other := v.subjects[cert.Subject]
		if cert.SHA256 != "" {
			if other != "" && other != what && !v.pinned[cert.Subject] {
				v.add(line, "%s: certificate subject %q already belongs to %s", what, cert.Subject, other)
			}
			if other == "" {
				v.subjects[cert.Subject], v.pinned[cert.Subject] = what, true
			}
			continue
		}
		if other != "" && (other != what || !v.pinned[cert.Subject]) {
			v.add(line, "%s: certificate subject %q already belongs to %s", what, cert.Subject, other)
			continue
		}
		v.subjects[cert.Subject], v.pinned[cert.Subject] = what, false
	}
	if len(c.TokenSHA256) > 0 && !tokens {
		v.add(line, "%s: has bearer tokens but tokens are not enabled (tokens: true)", what)
	}
	for _, t := range c.TokenSHA256 {
		sum, err := parseDigest(t)
		switch {
		case err != nil:
			v.add(line, "%s: token_sha256: %v", what, err)
		case v.tokens[sum] != "":
			v.add(line, "%s: token already belongs to %s", what, v.tokens[sum])
		default:
			v.tokens[sum] = what
		}
	}
}

// releases checks a map of standard → releases; when within is not nil,
// every release must also be active there.
func (v *validator) releases(line int, what string, rel, within map[string][]string) {
	for _, std := range sortedKeys(rel) {
		if std != string(bericht.IWmo) && std != string(bericht.IJw) {
			v.add(line, "%s: unknown standard %q (iwmo, ijw)", what, std)
			continue
		}
		for _, r := range rel[std] {
			switch {
			case r != bericht.Release:
				v.add(line, "%s: %s release %q is not supported (only %s)", what, std, r, bericht.Release)
			case within != nil && !slices.Contains(within[std], r):
				v.add(line, "%s: %s %s is not active in the registry", what, std, r)
			}
		}
	}
}

func (v *validator) pushURL(line int, what, raw string) {
	if raw == "" {
		v.add(line, "%s: delivery push needs push_url", what)
		return
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Host == "":
		v.add(line, "%s: push_url is not an absolute URL", what)
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(u.Hostname()):
	default:
		v.add(line, "%s: push_url must use https (http only to localhost)", what)
	}
}

func isLoopback(host string) bool {
	return host == "localhost" || host == "::1" || strings.HasPrefix(host, "127.")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// signingCertificates checks a party's WS-Security certificates and keeps
// their DER encodings.
func (v *validator) signingCertificates(line int, what, dir string, p PartyConfig) {
	if p.RequireSignature && len(p.SigningCertificates) == 0 {
		v.add(line, "%s: require_signature needs at least one signing_certificates entry", what)
	}
	for i, sc := range p.SigningCertificates {
		where := fmt.Sprintf("%s: signing certificate %d", what, i+1)
		data := []byte(sc.PEM)
		switch {
		case sc.PEM == "" && sc.PEMFile == "":
			v.add(line, "%s: needs pem or pem_file", where)
			continue
		case sc.PEM != "" && sc.PEMFile != "":
			v.add(line, "%s: pem and pem_file are exclusive", where)
			continue
		case sc.PEMFile != "":
			path := sc.PEMFile
			if !filepath.IsAbs(path) && dir != "" {
				path = filepath.Join(dir, path)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				v.add(line, "%s: reading pem_file: %v", where, err)
				continue
			}
			data = b
		}
		der, err := parseCertificatePEM(data)
		if err != nil {
			v.add(line, "%s: %v", where, err)
			continue
		}
		if sc.SHA256 != "" {
			sum, err := parseFingerprint(sc.SHA256)
			switch {
			case err != nil:
				v.add(line, "%s: sha256: %v", where, err)
				continue
			case sum != sha256.Sum256(der):
				v.add(line, "%s: sha256 does not match the certificate", where)
				continue
			}
		}
		v.signing[p.Code] = append(v.signing[p.Code], der)
	}
}

// parseCertificatePEM returns the DER of the one CERTIFICATE block in data.
func parseCertificatePEM(data []byte) ([]byte, error) {
	block, rest := pem.Decode(data)
	switch {
	case block == nil:
		return nil, errors.New("no PEM block")
	case block.Type != "CERTIFICATE":
		return nil, fmt.Errorf("PEM block is %q, not CERTIFICATE", block.Type)
	case len(bytes.TrimSpace(rest)) > 0:
		return nil, errors.New("more than one PEM block; list each certificate on its own")
	}
	if _, err := x509.ParseCertificate(block.Bytes); err != nil {
		return nil, fmt.Errorf("not a valid X.509 certificate: %w", err)
	}
	return block.Bytes, nil
}
