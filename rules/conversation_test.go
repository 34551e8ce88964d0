package rules

import (
	"context"
	"errors"
	"testing"

	"github.com/knooppunt/knooppunt/sample"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// memLedger is a Ledger in memory: the last status per key.
type memLedger map[AanleveringKey]string

func (m memLedger) Delivered(_ context.Context, k AanleveringKey) (bool, error) {
	return m[k] == "1", nil
}

func (m memLedger) record(as []Aanlevering) {
	for _, a := range as {
		m[a.Key] = a.Status
	}
}

func TestConversationTR063TR074(t *testing.T) {
	secret := []byte("test secret")
	ctx := context.Background()
	// The same start zorg delivered, delivered again, removed, removed again.
	msgs := map[string][]byte{}
	for _, status := range []string{"1", "3"} {
		d := generate(t, "WMO305", sample.Options{Dagtekening: day, Products: 1})
		d.set(d.one("//StartProduct"), "StatusAanlevering", status)
		msgs[status] = d.bytes()
	}
	ledger := memLedger{}
	step := func(status string) []string {
		h, doc, err := schemas(t).ValidateTree(msgs[status])
		require.NoError(t, err)
		require.Empty(t, Check(h, doc))
		found, err := CheckConversation(ctx, secret, h, doc, ledger)
		require.NoError(t, err)
		for _, f := range found {
			assert.Equal(t, "/Bericht/Client/StartProducten/StartProduct", f.Path)
			assert.Positive(t, f.Line)
			assert.Regexp(t, `^StartProduct \(line \d+\) has StatusAanlevering [13], but `, f.Text, "the element and its line, no value")
			assert.Equal(t, f, Refusal(doc, Aanleveringen(secret, h, doc)[0]), "the finding of a line the store refuses")
		}
		ledger.record(Aanleveringen(secret, h, doc))
		return codes(found)
	}
	assert.Empty(t, step("1"), "first delivery")
	assert.Equal(t, []string{"TR074"}, step("1"), "delivered twice")
	assert.Empty(t, step("3"), "removal of a delivered line")
	assert.Equal(t, []string{"TR063"}, step("3"), "removal of a removed line")
	assert.Empty(t, step("1"), "delivery after removal")
}

func TestAanleveringKeys(t *testing.T) {
	d := generate(t, "JW307", sample.Options{Dagtekening: day, Products: 2})
	h, doc, err := schemas(t).ValidateTree(d.bytes())
	require.NoError(t, err)
	as := Aanleveringen([]byte("a"), h, doc)
	require.Len(t, as, 2)
	assert.NotEqual(t, as[0].Key, as[1].Key, "two lines, two keys")
	other := Aanleveringen([]byte("b"), h, doc)
	assert.NotEqual(t, as[0].Key, other[0].Key, "the key depends on the secret")
	h.Afzender += "0"
	assert.NotEqual(t, as[0].Key, Aanleveringen([]byte("a"), h, doc)[0].Key, "the key depends on the sender")

	m := generate(t, "WMO301", sample.Options{Dagtekening: day})
	h, doc, err = schemas(t).ValidateTree(m.bytes())
	require.NoError(t, err)
	assert.Nil(t, Aanleveringen([]byte("a"), h, doc), "only 305 and 307 have aanleveringen")
}

type failingLedger struct{}

func (failingLedger) Delivered(context.Context, AanleveringKey) (bool, error) {
	return false, errors.New("disk on fire")
}

func TestConversationLedgerError(t *testing.T) {
	d := generate(t, "WMO305", sample.Options{Dagtekening: day})
	h, doc, err := schemas(t).ValidateTree(d.bytes())
	require.NoError(t, err)
	_, err = CheckConversation(context.Background(), nil, h, doc, failingLedger{})
	require.ErrorContains(t, err, "disk on fire")
}

func TestDuplicate(t *testing.T) {
	d := generate(t, "WMO301", sample.Options{Dagtekening: day})
	_, doc, err := schemas(t).ValidateTree(d.bytes())
	require.NoError(t, err)
	f := Duplicate(doc)
	assert.Equal(t, "TR056", f.Rule)
	assert.Equal(t, DuplicateIdentificatie, f.Retourcode)
	assert.Equal(t, "/Bericht/Header/BerichtIdentificatie/Identificatie", f.Path)
	assert.Equal(t, "Identificatie", doc.Name(f.Element))
	assert.Positive(t, f.Line)

	f = Duplicate(nil)
	assert.Equal(t, "/Bericht/Header/BerichtIdentificatie/Identificatie", f.Path)
	assert.Equal(t, -1, f.Element)
	r, ok := Lookup("TR056")
	require.True(t, ok)
	assert.Equal(t, Conversation, r.Level)
}
