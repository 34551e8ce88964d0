package routing

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseExample(t *testing.T) {
	data, err := os.ReadFile("testdata/registry.example.yaml")
	require.NoError(t, err)
	r, err := Parse(data)
	require.NoError(t, err)

	require.Len(t, r.Principals(), 11)
	require.True(t, r.TokensEnabled())

	g, ok := r.Party("0363")
	require.True(t, ok)
	assert.True(t, g.RequireSignature)
	require.Len(t, g.SigningCertificates, 1)

	box, ok := r.MailboxOf("0622")
	require.True(t, ok)
	assert.Equal(t, "swv-isd-waterweg", box)
	box, ok = r.MailboxOf("0384")
	require.True(t, ok)
	assert.Equal(t, "0384", box)

	p, ok := r.Party("42420001")
	require.True(t, ok)
	assert.Equal(t, DeliveryPush, p.Delivery)
	assert.Equal(t, RetourSwitch, p.Retour)
	assert.Equal(t, "https://berichten.zorgnoord.example/knooppunt", p.PushURL)

	p, ok = r.Party("12345678")
	require.True(t, ok)
	assert.False(t, p.Active)
	assert.Equal(t, DeliveryPoll, p.Delivery)

	_, ok = r.Party("ops-jan")
	assert.False(t, ok, "an operator is no party")
	p, ok = r.Principal("ops-jan")
	require.True(t, ok)
	assert.Equal(t, Operator, p.Role)

	_, ok = r.ByFingerprint([32]byte{0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa, 0x99, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x00, 0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa, 0x99, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x00})
	assert.False(t, ok, "the inactive nza principal cannot authenticate")
	p, ok = r.Principal("nza")
	require.True(t, ok)
	assert.False(t, p.Active)

	p, ok = r.BySubject("CN=isd-waterweg.example,O=ISD Waterweg,C=NL")
	require.True(t, ok)
	assert.Equal(t, []string{"0606", "0622"}, p.Gemeenten)
}

// problemsOf parses a file that must fail and returns its problems.
func problemsOf(t *testing.T, yaml string) []Problem {
	t.Helper()
	_, err := Parse([]byte(yaml))
	require.Error(t, err)
	var ce *ConfigError
	require.True(t, errors.As(err, &ce), "want a *ConfigError, got %v", err)
	return ce.Problems
}

func TestUnknownKeysRejectedWithLine(t *testing.T) {
	tests := []struct {
		name, yaml string
		line       int
		key        string
	}{
		{"top level", "tokens: true\ntoken: true\nparties: [{code: \"0384\", role: gemeente, name: x}]\n", 2, "token"},
		{"in a party", "parties:\n  - code: \"0384\"\n    role: gemeente\n    name: x\n    mailbox: y\n", 5, "mailbox"},
		{"in credentials", "parties:\n  - code: \"0384\"\n    role: gemeente\n    name: x\n    credentials:\n      certificate: []\n", 6, "certificate"},
		{"in a certificate", "parties:\n  - code: \"0384\"\n    role: gemeente\n    name: x\n    credentials:\n      certificates:\n        - subject: CN=x\n          sha1: ab\n", 8, "sha1"},
		{"in a principal", "parties: [{code: \"0384\", role: gemeente, name: x}]\nprincipals:\n  - id: ops\n    role: operator\n    name: x\n    credentials: {certificates: [{subject: CN=x}]}\n    password: y\n", 7, "password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			problems := problemsOf(t, tt.yaml)
			require.Len(t, problems, 1, problems)
			assert.Equal(t, tt.line, problems[0].Line)
			assert.Equal(t, `unknown key "`+tt.key+`"`, problems[0].Msg)
			assert.NotContains(t, problems[0].String(), "routing.", "no Go type names for operators")
		})
	}
}

func TestSyntaxErrors(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       string
	}{
		{"unclosed quote", "tokens: true\nparties:\n  - code: \"0384\n", "line 3"},
		{"duplicate key", "tokens: true\ntokens: false\n", `line 2: mapping key "tokens" already defined at line 1`},
		{"wrong type", "tokens: [1]\n", "line 1: cannot unmarshal !!seq into bool"},
		{"two documents", "tokens: true\n---\ntokens: false\n", "more than one YAML document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

// validParty is a line-numbered base for the single-problem cases.
const validBase = `tokens: true
parties:
  - code: "0384"
    role: gemeente
    name: Diemen
  - code: "42420001"
    role: aanbieder
    name: Zorg
`

func TestValidateSingleProblems(t *testing.T) {
	tests := []struct {
		name, extra string
		line        int // of the problem; 0 when not tied to a line
		want        string
	}{
		{"gemeente code", "  - {code: \"384\", role: gemeente, name: x}\n", 9, `party "384": a gemeente is identified by a 4-digit CBS gemeentecode`},
		{"agb code", "  - {code: \"4242000A\", role: aanbieder, name: x}\n", 9, "8-digit AGB code"},
		{"swv code", "  - {code: \"ISD\", role: samenwerkingsverband, name: x, gemeenten: [\"0384\"]}\n", 9, `"swv-" followed by`},
		{"unknown role", "  - {code: \"0363\", role: wijkteam, name: x}\n", 9, `role must be gemeente, aanbieder or samenwerkingsverband, not "wijkteam"`},
		{"operator as party", "  - {code: \"ops\", role: operator, name: x}\n", 9, `not "operator"`},
		{"duplicate code", "  - {code: \"0384\", role: gemeente, name: x}\n", 9, `party "0384": duplicate, first defined at line 3`},
		{"missing name", "  - {code: \"0363\", role: gemeente}\n", 9, "name is required"},
		{"swv without gemeenten", "  - {code: swv-a, role: samenwerkingsverband, name: x}\n", 9, "lists the gemeenten it handles"},
		{"swv unknown gemeente", "  - {code: swv-a, role: samenwerkingsverband, name: x, gemeenten: [\"0363\"]}\n", 9, `gemeente "0363" is not a party of the registry`},
		{"swv lists an aanbieder", "  - {code: swv-a, role: samenwerkingsverband, name: x, gemeenten: [\"42420001\"]}\n", 9, `"42420001" is an aanbieder, not a gemeente`},
		{"swv lists twice", "  - {code: swv-a, role: samenwerkingsverband, name: x, gemeenten: [\"0384\", \"0384\"]}\n", 9, `gemeente "0384" listed twice`},
		{"gemeenten on a gemeente", "  - {code: \"0363\", role: gemeente, name: x, gemeenten: [\"0384\"]}\n", 9, "only a samenwerkingsverband lists gemeenten"},
		{"retour", "  - {code: \"0363\", role: gemeente, name: x, retour: sender}\n", 9, `retour must be "switch" or "recipient", not "sender"`},
		{"delivery", "  - {code: \"0363\", role: gemeente, name: x, delivery: mail}\n", 9, `delivery must be "poll" or "push"`},
		{"push without url", "  - {code: \"0363\", role: gemeente, name: x, delivery: push}\n", 9, "delivery push needs push_url"},
		{"push over http", "  - {code: \"0363\", role: gemeente, name: x, delivery: push, push_url: \"http://x.example/in\"}\n", 9, "push_url must use https"},
		{"push url relative", "  - {code: \"0363\", role: gemeente, name: x, delivery: push, push_url: \"/in\"}\n", 9, "push_url is not an absolute URL"},
		{"push url with poll", "  - {code: \"0363\", role: gemeente, name: x, push_url: \"https://x.example/in\"}\n", 9, "push_url is set but delivery is not push"},
		{"push ack with poll", "  - {code: \"0363\", role: gemeente, name: x, push_ack: http}\n", 9, "push_ack is set but delivery is not push"},
		{"push ack value", "  - {code: \"0363\", role: gemeente, name: x, delivery: push, push_url: \"https://x.example/in\", push_ack: any}\n", 9, `push_ack must be "bv03" or "http", not "any"`},
		{"push ack for an aanbieder", "  - {code: \"42420002\", role: aanbieder, name: x, delivery: push, push_url: \"https://x.example/in\", push_ack: http}\n", 9, "push_ack is for gemeenten' SOAP endpoints"},
		{"aanleveringen for an aanbieder", "  - {code: \"42420002\", role: aanbieder, name: x, check_aanleveringen: true}\n", 9, "check_aanleveringen is for gemeenten"},
		{"bad fingerprint", "  - {code: \"0363\", role: gemeente, name: x, credentials: {certificates: [{sha256: abc}]}}\n", 9, "certificate sha256: want 64 hex digits"},
		{"fingerprint colons", "  - {code: \"0363\", role: gemeente, name: x, credentials: {certificates: [{sha256: \"" + strings.Repeat("a", 62) + ":bb\"}]}}\n", 9, "colons go between the bytes"},
		{"empty certificate", "  - {code: \"0363\", role: gemeente, name: x, credentials: {certificates: [{}]}}\n", 9, "needs sha256, subject or both"},
		{"bad token digest", "  - {code: \"0363\", role: gemeente, name: x, credentials: {token_sha256: [secret]}}\n", 9, "token_sha256: want 64 hex digits"},
		{"party release unknown", "  - {code: \"0363\", role: gemeente, name: x, releases: {iwmo: [\"3.1\"]}}\n", 9, `iwmo release "3.1" is not supported`},
		{"party release standard", "  - {code: \"0363\", role: gemeente, name: x, releases: {iwlz: [\"3.2\"]}}\n", 9, `unknown standard "iwlz"`},
		{"principal without credentials", "principals:\n  - {id: ops, role: operator, name: x}\n", 10, `principal "ops": has no credentials`},
		{"principal role", "principals:\n  - {id: ops, role: gemeente, name: x, credentials: {token_sha256: [\"" + TokenDigest("a") + "\"]}}\n", 10, "role must be operator, auditor or nza"},
		{"principal id", "principals:\n  - {id: Ops Team, role: operator, name: x, credentials: {token_sha256: [\"" + TokenDigest("a") + "\"]}}\n", 10, "a lowercase letter followed by"},
		{"principal id clashes", "  - {code: swv-a, role: samenwerkingsverband, name: x, gemeenten: [\"0384\"]}\nprincipals:\n  - {id: swv-a, role: operator, name: x, credentials: {token_sha256: [\"" + TokenDigest("a") + "\"]}}\n", 11, "duplicate, first defined at line 9"},
		{"global release", "releases: {ijw: [\"3.3\"]}\n", 0, `ijw release "3.3" is not supported`},
		{"store scheme", "store: \"http://nats.example:4222\"\n", 0, `store: "http://nats.example:4222" is not a nats://host:port URL`},
		{"store without host", "store: \"nats://\"\n", 0, "is not a nats://host:port URL"},
		{"store second url", "store: \"nats://a:4222,b:4222\"\n", 0, `"b:4222" is not a nats://host:port URL`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(validBase))
			require.NoError(t, err, "the base is valid")
			problems := problemsOf(t, validBase+tt.extra)
			require.Len(t, problems, 1, problems)
			assert.Equal(t, tt.line, problems[0].Line, problems[0].String())
			assert.Contains(t, problems[0].Msg, tt.want)
		})
	}
}

func TestValidateCollectsAllProblems(t *testing.T) {
	a, b := TokenDigest("a"), TokenDigest("b")
	fp := strings.Repeat("ab", 32)
	yaml := `parties:
  - {code: "0384", role: gemeente, name: Diemen, credentials: {token_sha256: ["` + a + `"]}}
  - {code: "0384", role: gemeente, name: Diemen again}
  - {code: "363", role: gemeente, name: x}
  - {code: "0599", role: gemeente, name: Rotterdam}
  - {code: swv-a, role: samenwerkingsverband, name: A, gemeenten: ["0599"], credentials: {certificates: [{sha256: "` + fp + `"}]}}
  - {code: swv-b, role: samenwerkingsverband, name: B, gemeenten: ["0599", "9999"], credentials: {certificates: [{sha256: "` + strings.ToUpper(fp) + `"}]}}
  - {code: "42420001", role: aanbieder, name: Zorg, credentials: {token_sha256: ["` + a + `", "` + b + `"]}}
principals:
  - {id: ops, role: operator, name: Ops, credentials: {certificates: [{subject: "CN=x"}]}}
  - {id: audit, role: auditor, name: Audit, credentials: {certificates: [{subject: "CN=x"}]}}
`
	problems := problemsOf(t, yaml)
	want := []Problem{
		{2, `party "0384": has bearer tokens but tokens are not enabled (tokens: true)`},
		{3, `party "0384": duplicate, first defined at line 2`},
		{4, `party "363": a gemeente is identified by a 4-digit CBS gemeentecode`},
		{7, `party "swv-b": gemeente "0599" is already handled by "swv-a"`},
		{7, `party "swv-b": gemeente "9999" is not a party of the registry`},
		{7, `party "swv-b": certificate fingerprint already belongs to party "swv-a"`},
		{8, `party "42420001": has bearer tokens but tokens are not enabled (tokens: true)`},
		{8, `party "42420001": token already belongs to party "0384"`},
		{11, `principal "audit": certificate subject "CN=x" already belongs to principal "ops"`},
	}
	assert.ElementsMatch(t, want, problems)
}

func TestEmptyFile(t *testing.T) {
	problems := problemsOf(t, "")
	assert.Equal(t, []Problem{{Msg: "no parties"}}, problems)
}

func TestFileTooLarge(t *testing.T) {
	_, err := Parse(make([]byte, MaxFileSize+1))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "larger than")
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(t.TempDir() + "/nope.yaml")
	require.ErrorIs(t, err, os.ErrNotExist)
}

// FuzzParse feeds the registry parser arbitrary bytes: it must never panic,
// and a registry it accepts must be consistent.
func FuzzParse(f *testing.F) {
	example, err := os.ReadFile("testdata/registry.example.yaml")
	require.NoError(f, err)
	f.Add(example)
	f.Add([]byte(validBase))
	f.Add([]byte("parties: [{code: swv-a, role: samenwerkingsverband, name: a, gemeenten: [\"0001\"]}, {code: \"0001\", role: gemeente, name: b}]"))
	f.Add([]byte("a: &a [*a, *a]"))
	f.Add([]byte("parties:\n  - <<: {code: \"0384\"}\n    role: gemeente\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Parse(data)
		if err != nil {
			var ce *ConfigError
			require.ErrorAs(t, err, &ce)
			require.NotEmpty(t, ce.Problems)
			return
		}
		for _, p := range r.Principals() {
			q, ok := r.Principal(p.ID)
			require.True(t, ok)
			require.Same(t, p, q)
			if !p.Role.IsParty() {
				require.False(t, r.MayActFor(p, p.ID))
				continue
			}
			box, ok := r.MailboxOf(p.ID)
			require.True(t, ok)
			owner, ok := r.Party(box)
			require.True(t, ok)
			require.Contains(t, []Role{p.Role, Samenwerkingsverband}, owner.Role)
			require.Equal(t, p.Active, r.MayActFor(p, p.ID))
		}
	})
}

func TestKeyAndValidationProblemsTogether(t *testing.T) {
	yaml := `parties:
  - code: "384"
    role: gemeente
    name: x
  - code: "0363"
    role: gemeente
    name: y
    colour: blue
  - code: "42420001"
    role: aanbieder
    name: z
    active: maybe
`
	problems := problemsOf(t, yaml)
	assert.Equal(t, []Problem{
		{2, `party "384": a gemeente is identified by a 4-digit CBS gemeentecode`},
		{8, `unknown key "colour"`},
		{12, "cannot unmarshal !!str `maybe` into bool"},
	}, problems)

	_, err := ParseConfig([]byte(yaml))
	var ce *ConfigError
	require.ErrorAs(t, err, &ce)
	assert.Len(t, ce.Problems, 2, "ParseConfig reports keys and types, not validation")
}

func TestCertificateSubjects(t *testing.T) {
	fp := func(b string) string { return strings.Repeat(b, 64) }
	party := func(code, certs string) string {
		return "  - {code: \"" + code + "\", role: aanbieder, name: x, credentials: {certificates: [" + certs + "]}}\n"
	}
	tests := []struct {
		name, parties string
		want          string // empty: valid
	}{
		{"two pinned certificates with one subject", party("10000001", `{sha256: "`+fp("a")+`", subject: "CN=x"}`) + party("10000002", `{sha256: "`+fp("b")+`", subject: "CN=x"}`), ""},
		{"subject alone after a pinned one", party("10000001", `{sha256: "`+fp("a")+`", subject: "CN=x"}`) + party("10000002", `{subject: "CN=x"}`), `party "10000002": certificate subject "CN=x" already belongs to party "10000001"`},
		{"pinned after a subject alone", party("10000001", `{subject: "CN=x"}`) + party("10000002", `{sha256: "`+fp("b")+`", subject: "CN=x"}`), `party "10000002": certificate subject "CN=x" already belongs to party "10000001"`},
		{"one party, pinned and alone", party("10000001", `{sha256: "`+fp("a")+`", subject: "CN=x"}, {subject: "CN=x"}`), ""},
		{"same fingerprint twice", party("10000001", `{sha256: "`+fp("a")+`"}`) + party("10000002", `{sha256: "`+strings.ToUpper(fp("a"))+`", subject: "CN=y"}`), `party "10000002": certificate fingerprint already belongs to party "10000001"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte("parties:\n" + tt.parties))
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			var ce *ConfigError
			require.ErrorAs(t, err, &ce)
			require.Len(t, ce.Problems, 1, ce.Problems)
			assert.Equal(t, tt.want, ce.Problems[0].Msg)
		})
	}
}

func TestDuplicateWithoutLines(t *testing.T) {
	cfg := DevConfig()
	cfg.Parties = append(cfg.Parties, cfg.Parties[0])
	_, err := New(cfg)
	var ce *ConfigError
	require.ErrorAs(t, err, &ce)
	assert.Contains(t, ce.Problems[0].Msg, `party "0363": defined twice`)
}

func TestStoreSetting(t *testing.T) {
	r, err := Parse([]byte(validBase))
	require.NoError(t, err)
	assert.Empty(t, r.Store(), "no setting: the Pebble store")
	const cluster = "nats://a:4222,nats://b:4222,tls://c:4222?replicas=3"
	r, err = Parse([]byte(validBase + "store: \"" + cluster + "\"\n"))
	require.NoError(t, err)
	assert.Equal(t, cluster, r.Store())
}

func TestCheckAanleveringenSetting(t *testing.T) {
	r, err := Parse([]byte(validBase))
	require.NoError(t, err)
	assert.False(t, r.ChecksAanleveringen(), "off by default")
	for _, p := range r.Principals() {
		assert.False(t, p.CheckAanleveringen, p.ID)
	}
	r, err = Parse([]byte(validBase + "  - {code: \"0363\", role: gemeente, name: x, check_aanleveringen: true}\n"))
	require.NoError(t, err)
	assert.True(t, r.ChecksAanleveringen())
	p, ok := r.Principal("0363")
	require.True(t, ok)
	assert.True(t, p.CheckAanleveringen)
	p, ok = r.Principal("0384")
	require.True(t, ok)
	assert.False(t, p.CheckAanleveringen, "per gemeente")
}
