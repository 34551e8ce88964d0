package rules

import (
	"sync"
	"testing"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/sample"
	"github.com/knooppunt/knooppunt/xsd"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	setOnce sync.Once
	set     *xsd.Set
	setErr  error
)

// schemas is the project's embedded schema set, loaded once per test binary.
func schemas(t testing.TB) *xsd.Set {
	t.Helper()
	setOnce.Do(func() { set, setErr = xsd.Load(xsd.Config{}) })
	require.NoError(t, setErr)
	return set
}

func soort(t testing.TB, name string) bericht.Soort {
	t.Helper()
	s, ok := bericht.Lookup(name)
	require.True(t, ok, name)
	return s
}

// check validates msg (it must pass the XSD) and runs the rules on it.
func check(t testing.TB, msg []byte) []Finding {
	t.Helper()
	h, doc, err := schemas(t).ValidateTree(msg)
	require.NoError(t, err, "the message must pass the XSD:\n%s", msg)
	return Check(h, doc)
}

func codes(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Rule)
	}
	return out
}

func TestGeneratedMessagesKeepEveryRule(t *testing.T) {
	seeds := 40
	if testing.Short() {
		seeds = 8
	}
	for _, s := range bericht.All() {
		t.Run(s.Name, func(t *testing.T) {
			for seed := range seeds {
				g := sample.New(int64(seed))
				m, err := g.Generate(s, sample.Options{Clients: 1 + seed%3})
				require.NoError(t, err)
				h, doc, err := schemas(t).ValidateTree(m.XML)
				require.NoError(t, err)
				fs := Check(h, doc)
				assert.Empty(t, fs, "seed %d: %v", seed, fs)
			}
		})
	}
}

func TestRegistry(t *testing.T) {
	all := All()
	require.NotEmpty(t, all)
	for k, r := range all {
		if k > 0 {
			assert.Less(t, all[k-1].Code, r.Code, "codes sorted and unique")
		}
		assert.Regexp(t, `^(TR|CD|CS)[0-9]{3}$`, r.Code)
		assert.Regexp(t, `^[0-9]{4}$`, r.Retourcode)
		assert.NotEmpty(t, r.Summary, r.Code)
		assert.NotEmpty(t, r.Soorten, r.Code)
		for _, name := range r.Soorten {
			s := soort(t, name)
			assert.True(t, r.AppliesTo(s))
		}
		if r.Level == InMessage {
			assert.NotNil(t, r.check, r.Code)
			assert.Equal(t, Rejected, r.Retourcode, "level-2 rules answer 0001: %s", r.Code)
		}
		if r.Part {
			assert.Contains(t, []Level{Conversation, External}, r.Level, "only a rule of level 3 or 4 has an in-message part: %s", r.Code)
			assert.NotEqual(t, Rejected, r.Retourcode, "a rule of level 3 or 4 keeps its own retourcode: %s", r.Code)
		}
		assert.Equal(t, r.check != nil && (r.Level == InMessage || r.Part), r.Checked(), r.Code)
		if r.Checked() {
			assert.NotEmpty(t, r.Breaks, "%s describes a message that breaks it", r.Code)
			assert.NotEmpty(t, r.Keeps, "%s describes a message that keeps it", r.Code)
		}
		got, ok := Lookup(r.Code)
		require.True(t, ok)
		assert.Same(t, r, got)
	}
	_, ok := Lookup("TR999")
	assert.False(t, ok)
	for _, r := range For(soort(t, "WMO301")) {
		assert.Contains(t, r.Soorten, "WMO301")
		assert.True(t, r.Checked(), r.Code)
	}
	assert.Contains(t, For(soort(t, "JW323")), mustLookup(t, "TR314"), "Check runs the in-message part of TR314")
	assert.Empty(t, For(soort(t, "WMO302")), "retourberichten have no level-2 rules of their own")
}

func TestFindingString(t *testing.T) {
	f := Finding{Rule: "CS002", Retourcode: "0001", Path: "/Bericht/Client/Bsn", Line: 19}
	assert.Equal(t, "CS002 (0001) at /Bericht/Client/Bsn, line 19", f.String())
	f.Text = "Bsn (line 19) fails the elfproef"
	assert.Equal(t, "CS002 (0001) at /Bericht/Client/Bsn, line 19: Bsn (line 19) fails the elfproef", f.String())
}

func mustLookup(t testing.TB, code string) *Rule {
	t.Helper()
	r, ok := Lookup(code)
	require.True(t, ok, code)
	return r
}

func TestCheckWithoutTree(t *testing.T) {
	assert.Nil(t, Check(bericht.Header{Soort: soort(t, "WMO301")}, nil))
}
