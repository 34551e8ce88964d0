package stuf_test

import (
	"crypto/ecdsa"
	"encoding/base64"
	"errors"
	"math/big"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/sample"
	"github.com/knooppunt/knooppunt/stuf"
)

// faultOf returns the code of a verification error, "" for none.
func faultOf(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		return ""
	}
	var f *stuf.Fault
	require.ErrorAs(t, err, &f)
	return f.Code
}

// signedAt is a Di01 from 0363 signed by s with the Timestamp of now.
func signedAt(t *testing.T, s *stuf.Signer, a stuf.Addressing, now time.Time) []byte {
	t.Helper()
	if a.Action == "" {
		a.Action = stuf.ActionDi01
	}
	msg, err := stuf.Build(a, []byte(di01Body(t)), s, now)
	require.NoError(t, err)
	return msg
}

// TestTimestampWindow: a Timestamp is accepted from Created minus the
// clock skew (60 s) until its end plus the skew, its end being the earlier
// of Expires and Created plus MaxAge (5 minutes), or that alone without an
// Expires (optional, WB002); outside that it is KP203.
func TestTimestampWindow(t *testing.T) {
	t0 := time.Now().UTC().Truncate(time.Millisecond)
	s, cert := rsaSigner(t)
	ours := signedAt(t, s, stuf.Addressing{}, t0) // Expires t0 + 5 minutes
	k := newKey(t, "rsa")
	zeep := formNamed(t, "zeep")
	withTimestamp := func(expires string) []byte {
		return signGo(t, zeep.template(tmplInput{
			cert: base64.StdEncoding.EncodeToString(k.der), created: zeep.created(t0), expires: expires,
			body: di01Body(t), method: tRSA256, digest: tSHA256, c14n: tExcC14N,
		}), k)
	}
	noExpires, lateExpires := withTimestamp(""), withTimestamp(zeep.created(t0.Add(time.Hour)))

	cases := []struct {
		name string
		msg  []byte
		der  []byte
		skew time.Duration
		at   time.Duration // after Created
		want string
	}{
		{"just created", ours, cert, 0, 0, ""},
		{"within the skew after Expires", ours, cert, 0, 5*time.Minute + 59*time.Second, ""},
		{"at Expires plus the skew", ours, cert, 0, 6 * time.Minute, stuf.CodeTimestamp},
		{"expired 4 minutes earlier", ours, cert, 0, 9 * time.Minute, stuf.CodeTimestamp},
		{"created within the skew ahead", ours, cert, 0, -59 * time.Second, ""},
		{"created beyond the skew ahead", ours, cert, 0, -61 * time.Second, stuf.CodeTimestamp},
		{"a wider skew configured", ours, cert, 2 * time.Minute, 6*time.Minute + 59*time.Second, ""},
		{"no Expires, within MaxAge", noExpires, k.der, 0, 5*time.Minute + 59*time.Second, ""},
		{"no Expires, past MaxAge", noExpires, k.der, 0, 6 * time.Minute, stuf.CodeTimestamp},
		{"a late Expires, within MaxAge", lateExpires, k.der, 0, 5 * time.Minute, ""},
		{"a late Expires, past MaxAge", lateExpires, k.der, 0, 6 * time.Minute, stuf.CodeTimestamp},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := stuf.Verifier{Now: func() time.Time { return t0.Add(c.at) }, ClockSkew: c.skew, Replay: stuf.NewReplayCache(0)}
			assert.Equal(t, c.want, faultOf(t, v.Verify(c.msg, c.der)))
		})
	}
}

// TestTimestampExpiredRequest: through the endpoint, a correctly signed request
// whose Timestamp ended 4 minutes ago is refused with KP203 and not
// stored; the same request is accepted while its Timestamp is valid.
func TestTimestampExpiredRequest(t *testing.T) {
	t0 := time.Now().UTC().Truncate(time.Millisecond)
	clock := &fixedClock{t0.Add(9 * time.Minute)}
	party, cert := rsaSigner(t)
	h := newHarness(t, func(c *stuf.Config) {
		c.Trust = trust{"0363": cert}
		c.Now = clock.Now
	})
	msg := signedAt(t, party, stuf.Addressing{To: "https://knooppunt.test/ggk"}, t0)
	status, body := h.post("0363", "", msg)
	assert.Equal(t, 500, status)
	assert.Equal(t, stuf.CodeTimestamp, faultCode(t, body))
	assert.Empty(t, h.store.stored())

	clock.t = t0.Add(time.Minute)
	status, body = h.post("0363", "", msg)
	assert.Equal(t, 200, status, "%s", body)
	assert.Len(t, h.store.stored(), 1)
}

// TestReplay: through the endpoint, a signed request sent again is
// refused with KP204 and not processed again; so is another request with a
// MessageID accepted before. A resend signed anew (a new MessageID, the
// same referentienummer) is the idempotent resend and answered Bv03. Once
// the Timestamp has ended, the copy is refused by its Timestamp (KP203).
func TestReplay(t *testing.T) {
	t0 := time.Now().UTC().Truncate(time.Millisecond)
	clock := &fixedClock{t0}
	party, cert := rsaSigner(t)
	h := newHarness(t, func(c *stuf.Config) {
		c.Trust = trust{"0363": cert}
		c.Now = clock.Now
	})
	post := func(msg []byte) (int, string) {
		status, body := h.post("0363", "", msg)
		if status == 200 {
			return status, ""
		}
		return status, faultCode(t, body)
	}

	msg := signedAt(t, party, stuf.Addressing{To: "https://knooppunt.test/ggk"}, t0)
	status, _ := post(msg)
	require.Equal(t, 200, status)
	require.Len(t, h.store.stored(), 1)
	clock.t = t0.Add(30 * time.Second)
	status, code := post(msg)
	assert.Equal(t, 500, status)
	assert.Equal(t, stuf.CodeReplay, code)
	assert.Len(t, h.store.stored(), 1, "a replay is not processed")

	id := "urn:uuid:" + stuf.NewUUID()
	status, _ = post(signedAt(t, party, stuf.Addressing{MessageID: id}, clock.t))
	require.Equal(t, 200, status)
	status, code = post(signedAt(t, party, stuf.Addressing{MessageID: id}, clock.t.Add(time.Second)))
	assert.Equal(t, 500, status, "another request, signed anew, with a MessageID seen before")
	assert.Equal(t, stuf.CodeReplay, code)
	assert.Len(t, h.store.stored(), 2)

	m, err := sample.New(time.Now().UnixNano()).Heen(soort(t, "WMO301"), sample.Options{Afzender: "0363"})
	require.NoError(t, err)
	env, err := envelopeFor(m, "0363", m.Header.Ontvanger, "").Marshal()
	require.NoError(t, err)
	for range 2 {
		resend, err := stuf.Build(stuf.Addressing{Action: stuf.ActionDi01}, env, party, clock.t)
		require.NoError(t, err)
		status, code = post(resend)
		assert.Equal(t, 200, status, "a resend signed anew: %s", code)
	}
	assert.Len(t, h.store.stored(), 3, "the resend is idempotent")

	clock.t = t0.Add(6 * time.Minute)
	status, code = post(msg)
	assert.Equal(t, 500, status)
	assert.Equal(t, stuf.CodeTimestamp, code)
}

// TestReplayMemory: the memory holds a request's signature and MessageID
// until its Timestamp ends and forgets them then; it is kept per
// certificate; a copy whose ECDSA signature value was re-encoded (s
// replaced by n-s, which verifies as well) is the same signature; and a
// request without a MessageID is recognised by its signature alone.
func TestReplayMemory(t *testing.T) {
	t0 := time.Now().UTC().Truncate(time.Millisecond)
	clock := &fixedClock{t0}
	cache := stuf.NewReplayCache(0)
	v := stuf.Verifier{Now: clock.Now, Replay: cache}
	s, cert := rsaSigner(t)

	m1 := signedAt(t, s, stuf.Addressing{}, t0)
	require.NoError(t, v.Verify(m1, cert))
	assert.Equal(t, 2, cache.Len(), "its signature and its MessageID")
	assert.Equal(t, stuf.CodeReplay, faultOf(t, v.Verify(m1, cert)))
	assert.Equal(t, 2, cache.Len(), "a refused copy adds nothing")

	clock.t = t0.Add(6 * time.Minute)
	assert.Equal(t, stuf.CodeTimestamp, faultOf(t, v.Verify(m1, cert)), "past the window the Timestamp refuses it")
	require.NoError(t, v.Verify(signedAt(t, s, stuf.Addressing{}, clock.t), cert))
	assert.Equal(t, 2, cache.Len(), "the first request's entries are forgotten")

	t.Run("per certificate", func(t *testing.T) {
		other, otherCert := rsaSigner(t)
		id := "urn:uuid:" + stuf.NewUUID()
		require.NoError(t, v.Verify(signedAt(t, s, stuf.Addressing{MessageID: id}, clock.t), cert))
		require.NoError(t, v.Verify(signedAt(t, other, stuf.Addressing{MessageID: id}, clock.t), otherCert))
	})

	t.Run("re-encoded signature, no MessageID", func(t *testing.T) {
		k := newKey(t, "ecdsa")
		zeep := formNamed(t, "zeep")
		msg := signGo(t, zeep.template(tmplInput{
			cert: base64.StdEncoding.EncodeToString(k.der), created: zeep.created(clock.t), expires: zeep.created(clock.t.Add(time.Minute)),
			body: di01Body(t), method: tECDSA, digest: tSHA256, c14n: tExcC14N,
		}), k)
		re := regexp.MustCompile(`<SignatureValue>([^<]+)</SignatureValue>`)
		raw, err := base64.StdEncoding.DecodeString(string(re.FindSubmatch(msg)[1]))
		require.NoError(t, err)
		n := k.signer.(*ecdsa.PrivateKey).Curve.Params().N
		sNeg := new(big.Int).Sub(n, new(big.Int).SetBytes(raw[32:]))
		twin := append(raw[:32:32], sNeg.FillBytes(make([]byte, 32))...)
		copied := re.ReplaceAll(msg, []byte("<SignatureValue>"+base64.StdEncoding.EncodeToString(twin)+"</SignatureValue>"))
		require.NotEqual(t, msg, copied)
		require.NoError(t, stuf.Verifier{Now: clock.Now}.Verify(copied, k.der), "the re-encoded value is a valid signature")

		require.NoError(t, v.Verify(msg, k.der))
		assert.Equal(t, stuf.CodeReplay, faultOf(t, v.Verify(copied, k.der)))
	})
}

// TestReplayCacheBounded: a full memory forgets the entries whose
// Timestamp ends soonest, so it stays within its bound.
func TestReplayCacheBounded(t *testing.T) {
	t0 := time.Now().UTC().Truncate(time.Millisecond)
	clock := &fixedClock{t0.Add(2 * time.Minute)}
	cache := stuf.NewReplayCache(4)
	v := stuf.Verifier{Now: clock.Now, Replay: cache}
	s, cert := rsaSigner(t)
	var msgs [][]byte
	for i := range 3 {
		msgs = append(msgs, signedAt(t, s, stuf.Addressing{}, t0.Add(time.Duration(i)*time.Minute)))
		require.NoError(t, v.Verify(msgs[i], cert))
		assert.LessOrEqual(t, cache.Len(), 4)
	}
	assert.Equal(t, stuf.CodeReplay, faultOf(t, v.Verify(msgs[2], cert)))
	assert.Equal(t, stuf.CodeReplay, faultOf(t, v.Verify(msgs[1], cert)))
	assert.NoError(t, v.Verify(msgs[0], cert), "the oldest was forgotten to make room")
}

// TestReplayConcurrent: of the same request verified at once by many
// goroutines, exactly one is accepted.
func TestReplayConcurrent(t *testing.T) {
	now := time.Now().UTC()
	v := stuf.Verifier{Now: func() time.Time { return now }, Replay: stuf.NewReplayCache(0)}
	s, cert := ecdsaSigner(t)
	msg := signedAt(t, s, stuf.Addressing{}, now)
	var wg sync.WaitGroup
	codes := make([]string, 32)
	for i := range codes {
		wg.Go(func() {
			var f *stuf.Fault
			if errors.As(v.Verify(msg, cert), &f) {
				codes[i] = f.Code
			}
		})
	}
	wg.Wait()
	accepted := 0
	for _, c := range codes {
		switch c {
		case "":
			accepted++
		default:
			assert.Equal(t, stuf.CodeReplay, c)
		}
	}
	assert.Equal(t, 1, accepted)
}
