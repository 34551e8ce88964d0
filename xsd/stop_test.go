package xsd

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestParseStopsAtARaisedFlag: a parser whose flag is raised stops at the
// first start tag and builds no document, whichever of its two flags it is.
func TestParseStopsAtARaisedFlag(t *testing.T) {
	embeddedSet(t) // libxml2 initialised
	msg := generated(t, "WMO301")
	for _, which := range []string{"first", "second"} {
		var f stopFlag
		f.raise()
		a, b := &f, (*stopFlag)(nil)
		if which == "second" {
			a, b = nil, &f
		}
		is := newIssues(maxViolationsParsed)
		d := parse(msg, is, a, b)
		is.free()
		assert.True(t, d.stopped(), which)
		assert.False(t, d.ok(), which)
		d.free()
	}
	is := newIssues(maxViolationsParsed)
	d := parse(msg, is, &stopFlag{}, nil)
	is.free()
	assert.False(t, d.stopped(), "a flag not raised")
	assert.True(t, d.ok())
	d.free()
}

// TestValidateContextGivesUp: a validation whose context has ended is no
// refusal of the message but an error wrapping the context's.
func TestValidateContextGivesUp(t *testing.T) {
	s := embeddedSet(t)
	msg := generated(t, "WMO301")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.ValidateContext(ctx, msg)
	require.ErrorIs(t, err, context.Canceled)
	var e *Error
	assert.False(t, errors.As(err, &e), "not a refusal of the message")
	_, _, err = s.ValidateTreeContext(ctx, msg)
	require.ErrorIs(t, err, context.Canceled)

	_, err = s.ValidateContext(context.Background(), msg)
	require.NoError(t, err)
}

// TestCloseContextDoesNotWait: a set being closed refuses new validations
// at once, and CloseContext with an ended context returns at once.
func TestCloseContextDoesNotWait(t *testing.T) {
	s, err := Load(Config{})
	require.NoError(t, err)
	msg := generated(t, "WMO301")
	_, err = s.Validate(msg)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// Nothing runs, so the schemas are freed and it reports no error; it
	// would report one, without waiting, if a validation still ran.
	require.NoError(t, s.CloseContext(ctx))
	_, err = s.Validate(msg)
	require.ErrorIs(t, err, ErrClosed)
	require.NoError(t, s.Close(), "safe twice")
}

// TestCloseContextBoundsItsWait: with a validation still holding the set,
// CloseContext raises the stop flag and returns when its context ends,
// without freeing what the validation uses; the schemas are freed once it
// lets go.
func TestCloseContextBoundsItsWait(t *testing.T) {
	s, err := Load(Config{})
	require.NoError(t, err)
	s.mu.RLock() // a validation under way
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = s.CloseContext(ctx)
	require.ErrorIs(t, err, context.Canceled, "it did not wait for the validation")
	assert.True(t, s.closing.raised(), "running parsers are told to stop")
	assert.NotNil(t, s.schemas, "nothing freed under the validation")
	s.mu.RUnlock()
	require.NoError(t, s.Close())
	assert.Nil(t, s.schemas)
}
