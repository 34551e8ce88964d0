package routing

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/bericht"
)

// The direction table of the standard, written out here independently of
// the bericht catalogue: who sends each message number, and which are
// retourberichten (header copied from the heenbericht).
var (
	sentBy = map[int]bericht.Role{
		301: bericht.Gemeente, 302: bericht.Aanbieder,
		305: bericht.Aanbieder, 306: bericht.Gemeente,
		307: bericht.Aanbieder, 308: bericht.Gemeente,
		315: bericht.Aanbieder, 316: bericht.Gemeente,
		317: bericht.Aanbieder, 318: bericht.Gemeente,
		319: bericht.Gemeente, 320: bericht.Aanbieder,
		323: bericht.Aanbieder, 325: bericht.Gemeente,
	}
	isRetour = map[int]bool{302: true, 306: true, 308: true, 316: true, 318: true, 320: true}
)

// heenStore is a fake conversation index that records what Route asked.
type heenStore struct {
	refs  map[HeenKey]HeenRef // keys without Dagtekening
	asked []HeenKey
	err   error
}

func (s *heenStore) lookup(_ context.Context, k HeenKey) (HeenRef, bool, error) {
	s.asked = append(s.asked, k)
	if s.err != nil {
		return HeenRef{}, false, s.err
	}
	k.Dagtekening = ""
	ref, ok := s.refs[k]
	return ref, ok, nil
}

func (s *heenStore) add(sender, soort, id string, ref HeenRef) {
	if s.refs == nil {
		s.refs = map[HeenKey]HeenRef{}
	}
	s.refs[HeenKey{Sender: sender, Berichtsoort: soort, Identificatie: id}] = ref
}

func soort(t *testing.T, name string) bericht.Soort {
	t.Helper()
	s, ok := bericht.Lookup(name)
	require.True(t, ok, name)
	return s
}

func principal(t *testing.T, r *Registry, id string) *Principal {
	t.Helper()
	p, ok := r.Principal(id)
	require.True(t, ok, id)
	return p
}

// header builds the header a well-behaved party writes for s between
// gemeente g and aanbieder a: Afzender is the sender, except in a
// retourbericht, which copies the heenbericht's header.
func header(s bericht.Soort, g, a string) bericht.Header {
	afzender := sentBy[s.Number]
	if isRetour[s.Number] {
		afzender = bericht.Gemeente
		if sentBy[s.Number] == bericht.Gemeente {
			afzender = bericht.Aanbieder
		}
	}
	h := bericht.Header{Soort: s, BerichtCode: s.Code, Afzender: a, Ontvanger: g, Identificatie: "B1", Dagtekening: "2026-11-28"}
	if afzender == bericht.Gemeente {
		h.Afzender, h.Ontvanger = g, a
	}
	if isRetour[s.Number] {
		h.IdentificatieRetour = "R1"
	}
	if s.Number == 325 {
		h.DeclaratieIdentificatie, h.DeclaratieDagtekening = "D1", "2026-11-01"
	}
	return h
}

// TestRouteAllBerichtsoorten sends each of the 28 berichtsoorten from each
// kind of principal, in a header that is right for the berichtsoort, and
// checks the direction rule and where the message goes.
func TestRouteAllBerichtsoorten(t *testing.T) {
	r := DevRegistry()
	senders := []struct {
		principal   string
		role        bericht.Role // the role it sends as; empty: no party
		g, a        string       // the gemeente and aanbieder of the header
		wantMailbox string       // for a message it may send
		onBehalf    bool
	}{
		{"0384", bericht.Gemeente, "0384", "42420001", "42420001", false},
		{"swv-demo-isd", bericht.Gemeente, "0606", "65656055", "65656055", true},
		{"42420001", bericht.Aanbieder, "0384", "42420001", "0384", false},
		{"12345678", bericht.Aanbieder, "0606", "12345678", "swv-demo-isd", false},
		{"operator", "", "0384", "42420001", "", false},
	}
	n := 0
	for _, s := range bericht.All() {
		for _, snd := range senders {
			n++
			t.Run(s.Name+"/"+snd.principal, func(t *testing.T) {
				h := header(s, snd.g, snd.a)
				heen := &heenStore{}
				pair := soort(t, s.Pair)
				switch {
				case isRetour[s.Number]: // the heen had the same header
					heen.add(h.Afzender, s.Pair, "B1", HeenRef{ID: "heen-" + s.Pair, Sender: h.Afzender, Recipient: h.Ontvanger})
				case s.Number == 325:
					heen.add(snd.a, pair.Name, "D1", HeenRef{ID: "heen-" + s.Pair, Sender: snd.a, Recipient: snd.g})
				}

				d, err := r.Route(context.Background(), principal(t, r, snd.principal), h, heen.lookup)

				var rerr *Error
				switch snd.role {
				case "":
					require.ErrorAs(t, err, &rerr)
					assert.Equal(t, CodeNotAParty, rerr.Code)
					return
				case sentBy[s.Number]:
				default:
					require.ErrorAs(t, err, &rerr)
					assert.Equal(t, CodeWrongDirection, rerr.Code, rerr.Msg)
					return
				}
				require.NoError(t, err)
				own, other := snd.g, snd.a
				if snd.role == bericht.Aanbieder {
					own, other = snd.a, snd.g
				}
				assert.Equal(t, s, d.Soort)
				assert.Equal(t, own, d.Sender)
				assert.Equal(t, other, d.Recipient)
				assert.Equal(t, snd.wantMailbox, d.Mailbox)
				assert.Equal(t, snd.onBehalf, d.OnBehalf)
				if isRetour[s.Number] || s.Number == 325 {
					assert.Equal(t, "heen-"+s.Pair, d.HeenID)
					require.Len(t, heen.asked, 1)
					assert.Equal(t, other, heen.asked[0].Sender, "an answer looks up the heenbericht of its recipient")
					assert.Equal(t, s.Pair, heen.asked[0].Berichtsoort)
				} else {
					assert.Empty(t, d.HeenID)
					assert.Empty(t, heen.asked, "a heenbericht routes on its header alone")
				}
				if s.Number == 325 {
					assert.Equal(t, HeenKey{Sender: snd.a, Berichtsoort: pair.Name, Identificatie: "D1", Dagtekening: "2026-11-01"}, heen.asked[0])
				}
			})
		}
	}
	require.Equal(t, 28*len(senders), n)
}

// devWith is the dev registry changed by mutate.
func devWith(t *testing.T, mutate func(*Config)) *Registry {
	t.Helper()
	cfg := DevConfig()
	mutate(&cfg)
	r, err := New(cfg)
	require.NoError(t, err)
	return r
}

func setParty(code string, set func(*PartyConfig)) func(*Config) {
	return func(c *Config) {
		for i := range c.Parties {
			if c.Parties[i].Code == code {
				set(&c.Parties[i])
			}
		}
	}
}

func inactive(p *PartyConfig) { f := false; p.Active = &f }

func TestRouteRefusals(t *testing.T) {
	dev := DevRegistry()
	storeErr := errors.New("disk on fire")
	tests := []struct {
		name      string
		reg       *Registry // dev when nil
		principal string
		soort     string
		g, a      string
		edit      func(*bericht.Header)
		heen      *heenStore
		want      Code
	}{
		{name: "aanbieder spoofs another aanbieder", principal: "42420001", soort: "WMO305", g: "0363", a: "65656055", want: CodeSenderMismatch},
		{name: "gemeente spoofs another gemeente", principal: "0384", soort: "JW301", g: "0363", a: "42420001", want: CodeSenderMismatch},
		{name: "samenwerkingsverband sends for a gemeente it does not handle", principal: "swv-demo-isd", soort: "WMO319", g: "0384", a: "42420001", want: CodeSenderMismatch},
		{name: "retour sent by someone else than its header's Ontvanger", principal: "42420001", soort: "WMO302", g: "0384", a: "65656055", want: CodeSenderMismatch},
		{name: "gemeente spoofs a 325", principal: "0363", soort: "JW325", g: "0384", a: "65656055", want: CodeSenderMismatch},
		{name: "retour whose heenbericht is unknown", principal: "42420001", soort: "WMO302", g: "0384", a: "42420001", heen: &heenStore{}, want: CodeRetourWithoutHeen},
		{name: "retour to a heenbericht sent to another party", principal: "42420001", soort: "WMO302", g: "0384", a: "42420001",
			heen: withHeen("0384", "WMO301", "B1", HeenRef{ID: "x", Sender: "0384", Recipient: "65656055"}), want: CodeRetourWithoutHeen},
		{name: "retour whose heenbericht has another sender", principal: "0363", soort: "WMO306", g: "0363", a: "65656055",
			heen: withHeen("65656055", "WMO305", "B1", HeenRef{ID: "x", Sender: "42420001", Recipient: "0363"}), want: CodeRetourWithoutHeen},
		{name: "retour without a lookup", principal: "42420001", soort: "WMO302", g: "0384", a: "42420001", want: CodeRetourWithoutHeen},
		{name: "325 without DeclaratieIdentificatie", principal: "0384", soort: "WMO325", g: "0384", a: "65656055",
			edit: func(h *bericht.Header) { h.DeclaratieIdentificatie = "" },
			heen: withHeen("65656055", "WMO323", "", HeenRef{ID: "x", Sender: "65656055", Recipient: "0384"}), want: CodeRetourWithoutHeen},
		{name: "325 to a 323 of the other standard", principal: "0384", soort: "WMO325", g: "0384", a: "65656055",
			heen: withHeen("65656055", "JW323", "D1", HeenRef{ID: "x", Sender: "65656055", Recipient: "0384"}), want: CodeRetourWithoutHeen},
		{name: "unknown aanbieder", principal: "0384", soort: "WMO301", g: "0384", a: "99999999", want: CodeUnknownRecipient},
		{name: "unknown gemeente", principal: "42420001", soort: "JW315", g: "9999", a: "42420001", want: CodeUnknownRecipient},
		{name: "recipient of the wrong role", principal: "42420001", soort: "WMO305", g: "65656055", a: "42420001", want: CodeUnknownRecipient},
		{name: "inactive recipient", reg: devWith(t, setParty("65656055", inactive)), principal: "0384", soort: "WMO301", g: "0384", a: "65656055", want: CodeRecipientInactive},
		{name: "inactive samenwerkingsverband of the recipient", reg: devWith(t, setParty("swv-demo-isd", inactive)), principal: "42420001", soort: "WMO315", g: "0606", a: "42420001", want: CodeRecipientInactive},
		{name: "inactive sender", reg: devWith(t, setParty("42420001", inactive)), principal: "42420001", soort: "WMO315", g: "0384", a: "42420001", want: CodeSenderInactive},
		{name: "inactive gemeente sent for by its samenwerkingsverband", reg: devWith(t, setParty("0606", inactive)), principal: "swv-demo-isd", soort: "WMO301", g: "0606", a: "42420001", want: CodeSenderInactive},
		{name: "standard inactive on the switch", reg: devWith(t, func(c *Config) { c.Releases = map[string][]string{"iwmo": {"3.2"}} }), principal: "0384", soort: "JW301", g: "0384", a: "42420001", want: CodeReleaseInactive},
		{name: "standard inactive for the recipient", reg: devWith(t, setParty("65656055", func(p *PartyConfig) { p.Releases = map[string][]string{"ijw": {"3.2"}} })), principal: "0384", soort: "WMO301", g: "0384", a: "65656055", want: CodeReleaseInactive},
		{name: "standard inactive for the sender", reg: devWith(t, setParty("65656055", func(p *PartyConfig) { p.Releases = map[string][]string{"ijw": {"3.2"}} })), principal: "65656055", soort: "WMO305", g: "0384", a: "65656055", want: CodeReleaseInactive},
		{name: "standard inactive for the samenwerkingsverband", reg: devWith(t, setParty("swv-demo-isd", func(p *PartyConfig) { p.Releases = map[string][]string{"iwmo": {"3.2"}} })), principal: "42420001", soort: "JW305", g: "0606", a: "42420001", want: CodeReleaseInactive},
		{name: "no berichtsoort", principal: "0384", soort: "WMO301", g: "0384", a: "42420001", edit: func(h *bericht.Header) { h.Soort = bericht.Soort{} }, want: CodeBadHeader},
		{name: "no Identificatie", principal: "0384", soort: "WMO301", g: "0384", a: "42420001", edit: func(h *bericht.Header) { h.Identificatie = "" }, want: CodeBadHeader},
		{name: "no Ontvanger", principal: "0384", soort: "WMO301", g: "0384", a: "", want: CodeBadHeader},
		{name: "auditor", principal: "auditor", soort: "WMO301", g: "0384", a: "42420001", want: CodeNotAParty},
		{name: "nza", principal: "nza", soort: "WMO325", g: "0384", a: "42420001", want: CodeNotAParty},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.reg
			if r == nil {
				r = dev
			}
			h := header(soort(t, tt.soort), tt.g, tt.a)
			if tt.edit != nil {
				tt.edit(&h)
			}
			var lookup HeenLookup
			if tt.heen != nil {
				lookup = tt.heen.lookup
			}
			_, err := r.Route(context.Background(), principal(t, r, tt.principal), h, lookup)
			var rerr *Error
			require.ErrorAs(t, err, &rerr)
			assert.Equal(t, tt.want, rerr.Code, rerr.Msg)
			assert.ErrorIs(t, err, &Error{Code: tt.want})
			assert.Contains(t, err.Error(), string(tt.want))
		})
	}

	t.Run("the store fails", func(t *testing.T) {
		h := header(soort(t, "WMO302"), "0384", "42420001")
		_, err := dev.Route(context.Background(), principal(t, dev, "42420001"), h, (&heenStore{err: storeErr}).lookup)
		require.ErrorIs(t, err, storeErr)
		var rerr *Error
		assert.False(t, errors.As(err, &rerr), "a store failure is no refusal: the client retries")
	})
	t.Run("no principal", func(t *testing.T) {
		_, err := dev.Route(context.Background(), nil, header(soort(t, "WMO301"), "0384", "42420001"), nil)
		assert.ErrorIs(t, err, &Error{Code: CodeNotAParty})
	})
	t.Run("a principal the registry does not know", func(t *testing.T) {
		_, err := dev.Route(context.Background(), &Principal{ID: "0599x", Role: Gemeente, Active: true}, header(soort(t, "WMO301"), "0599x", "42420001"), nil)
		assert.ErrorIs(t, err, &Error{Code: CodeNotAParty})
	})
}

func withHeen(sender, soort, id string, ref HeenRef) *heenStore {
	s := &heenStore{}
	s.add(sender, soort, id, ref)
	return s
}

// TestRouteSamenwerkingsverband follows a conversation of gemeente 0606,
// whose traffic swv-demo-isd handles, in both directions.
func TestRouteSamenwerkingsverband(t *testing.T) {
	r := DevRegistry()
	ctx := context.Background()
	swv := principal(t, r, "swv-demo-isd")
	heen := &heenStore{}

	// The samenwerkingsverband sends a toewijzing for 0606.
	h301 := header(soort(t, "JW301"), "0606", "42420001")
	d, err := r.Route(ctx, swv, h301, heen.lookup)
	require.NoError(t, err)
	assert.Equal(t, Decision{Soort: h301.Soort, Sender: "0606", Recipient: "42420001", Mailbox: "42420001", OnBehalf: true}, d)
	heen.add(d.Sender, "JW301", h301.Identificatie, HeenRef{ID: "h301", Sender: d.Sender, Recipient: d.Mailbox})

	// Its retour comes back to the samenwerkingsverband's mailbox.
	h302 := header(soort(t, "JW302"), "0606", "42420001")
	d, err = r.Route(ctx, principal(t, r, "42420001"), h302, heen.lookup)
	require.NoError(t, err)
	assert.Equal(t, Decision{Soort: h302.Soort, Sender: "42420001", Recipient: "0606", Mailbox: "swv-demo-isd", HeenID: "h301"}, d)

	// An aanbieder's verzoek om toewijzing to 0606 lands there too; the
	// store records the mailbox as its recipient.
	h315 := header(soort(t, "JW315"), "0606", "42420001")
	d, err = r.Route(ctx, principal(t, r, "42420001"), h315, heen.lookup)
	require.NoError(t, err)
	assert.Equal(t, "swv-demo-isd", d.Mailbox)
	heen.add(d.Sender, "JW315", h315.Identificatie, HeenRef{ID: "h315", Sender: d.Sender, Recipient: d.Mailbox})

	// The samenwerkingsverband answers it for 0606.
	h316 := header(soort(t, "JW316"), "0606", "42420001")
	d, err = r.Route(ctx, swv, h316, heen.lookup)
	require.NoError(t, err)
	assert.Equal(t, Decision{Soort: h316.Soort, Sender: "0606", Recipient: "42420001", Mailbox: "42420001", HeenID: "h315", OnBehalf: true}, d)

	// Gemeente 0606 itself may send too, were it given credentials, and
	// answer what its samenwerkingsverband received.
	assert.True(t, r.MayActFor(principal(t, r, "0606"), "0606"))
	d, err = r.Route(ctx, principal(t, r, "0606"), h316, heen.lookup)
	require.NoError(t, err)
	assert.Equal(t, Decision{Soort: h316.Soort, Sender: "0606", Recipient: "42420001", Mailbox: "42420001", HeenID: "h315"}, d)
	// Another gemeente may not answer what the samenwerkingsverband got.
	h316.Afzender, h316.Ontvanger = "42420001", "0384"
	_, err = r.Route(ctx, principal(t, r, "0384"), h316, heen.lookup)
	assert.ErrorIs(t, err, &Error{Code: CodeRetourWithoutHeen})
}

func TestRouteAcrossReload(t *testing.T) {
	old, cur := DevRegistry(), devWith(t, setParty("42420001", inactive))
	h := header(soort(t, "WMO315"), "0384", "42420001")
	_, err := old.Route(context.Background(), principal(t, old, "42420001"), h, nil)
	require.NoError(t, err)
	_, err = cur.Route(context.Background(), principal(t, old, "42420001"), h, nil)
	assert.ErrorIs(t, err, &Error{Code: CodeSenderInactive}, "the routing registry decides, not the one that authenticated")
}

func TestCodeStatus(t *testing.T) {
	want := map[Code]int{
		CodeNotAParty:         http.StatusForbidden,
		CodeSenderInactive:    http.StatusForbidden,
		CodeSenderMismatch:    http.StatusForbidden,
		CodeBadHeader:         http.StatusUnprocessableEntity,
		CodeWrongDirection:    http.StatusUnprocessableEntity,
		CodeReleaseInactive:   http.StatusUnprocessableEntity,
		CodeUnknownRecipient:  http.StatusUnprocessableEntity,
		CodeRecipientInactive: http.StatusUnprocessableEntity,
		CodeRetourWithoutHeen: http.StatusUnprocessableEntity,
	}
	for code, status := range want {
		assert.Equal(t, status, code.Status(), code)
	}
	err := fmt.Errorf("posting: %w", refuse(CodeSenderMismatch, "x"))
	assert.ErrorIs(t, err, &Error{Code: CodeSenderMismatch})
	assert.NotErrorIs(t, err, &Error{Code: CodeWrongDirection})
}
