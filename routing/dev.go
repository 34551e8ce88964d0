package routing

import "fmt"

// DevToken is a bearer token of the dev registry, for the listing that
// `knooppunt serve --dev` prints at start.
type DevToken struct {
	ID    string
	Role  Role
	Name  string
	Token string
}

// DevPushURL is where the dev registry's gemeente 0344 is pushed to.
const DevPushURL = "http://127.0.0.1:8082/"

// devParties are the parties of the dev registry: every party of the
// published example messages, plus a samenwerkingsverband handling a fourth
// gemeente, so the demo shows a shared mailbox without changing where the
// examples go, and a fifth gemeente that receives by push.
var devParties = []PartyConfig{
	{Code: "0363", Role: Gemeente, Name: "Gemeente Amsterdam"},
	{Code: "0384", Role: Gemeente, Name: "Gemeente Diemen"},
	{Code: "0599", Role: Gemeente, Name: "Gemeente Rotterdam"},
	{Code: "0606", Role: Gemeente, Name: "Gemeente Schiedam (handled by swv-demo-isd)"},
	// A gemeente that receives by push, on the port after the dev SOAP
	// endpoint's; any 2xx confirms, so any small listener shows the pushes.
	{Code: "0344", Role: Gemeente, Name: "Gemeente Utrecht (receives by push on 127.0.0.1:8082)",
		Delivery: DeliveryPush, PushURL: DevPushURL, PushAck: PushAckHTTP},
	{Code: "42420001", Role: Aanbieder, Name: "Demo zorgaanbieder 42420001"},
	{Code: "65656055", Role: Aanbieder, Name: "Demo zorgaanbieder 65656055"},
	{Code: "12345678", Role: Aanbieder, Name: "Demo zorgaanbieder 12345678"},
	{Code: "swv-demo-isd", Role: Samenwerkingsverband, Name: "Demo ISD", Gemeenten: []string{"0606"}},
}

var devPrincipals = []PrincipalConfig{
	{ID: "operator", Role: Operator, Name: "Dev operator"},
	{ID: "auditor", Role: Auditor, Name: "Dev auditor"},
	{ID: "nza", Role: NZa, Name: "Dev NZa"},
}

// DevTokens lists the bearer tokens of DevRegistry: "dev-<code>" for each
// party ("dev-0384", "dev-swv-demo-isd") and "dev-<id>" for the operator,
// auditor and NZa. Gemeente 0606 has none: its samenwerkingsverband sends
// and receives for it.
func DevTokens() []DevToken {
	var out []DevToken
	for _, p := range devParties {
		if p.Code != "0606" {
			out = append(out, DevToken{ID: p.Code, Role: p.Role, Name: p.Name, Token: "dev-" + p.Code})
		}
	}
	for _, p := range devPrincipals {
		out = append(out, DevToken{ID: p.ID, Role: p.Role, Name: p.Name, Token: "dev-" + p.ID})
	}
	return out
}

// DevConfig is the configuration of DevRegistry, as a starting point for a
// test or a demo of one's own.
func DevConfig() Config {
	cfg := Config{Tokens: true}
	tokens := map[string]string{}
	for _, t := range DevTokens() {
		tokens[t.ID] = TokenDigest(t.Token)
	}
	for _, p := range devParties {
		if t, ok := tokens[p.Code]; ok {
			p.Credentials.TokenSHA256 = []string{t}
		}
		p.Gemeenten = append([]string(nil), p.Gemeenten...)
		cfg.Parties = append(cfg.Parties, p)
	}
	for _, p := range devPrincipals {
		p.Credentials.TokenSHA256 = []string{tokens[p.ID]}
		cfg.Principals = append(cfg.Principals, p)
	}
	return cfg
}

// DevRegistry is the built-in registry of `knooppunt serve --dev`: gemeenten
// 0363, 0384 and 0599 and aanbieders 42420001, 65656055 and 12345678 (every
// party of the published example messages), each reached directly; gemeente
// 0606, handled by samenwerkingsverband swv-demo-isd; gemeente 0344, pushed
// to DevPushURL; an operator, an auditor and an NZa principal. Everyone authenticates with a bearer token, see
// DevTokens. It must never run in production: the tokens are public.
func DevRegistry() *Registry {
	r, err := New(DevConfig())
	if err != nil { // a defect of this file, caught by its test
		panic(fmt.Sprintf("routing: dev registry: %v", err))
	}
	return r
}
