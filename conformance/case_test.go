package conformance

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	text := "# What it checks.\n# Second line.\n\nrequires lease\nmessage doc inline\n" +
		"post 0384 doc content-type=\"text/xml; charset=utf-8\"\nexpect 400 doctype\n-- doc --\n<a/>\n"
	c, err := Parse("dir/x.case", []byte(text))
	require.NoError(t, err)
	assert.Equal(t, "x", c.Name)
	assert.Equal(t, "dir", c.Dir)
	assert.Equal(t, "What it checks.\nSecond line.", c.Doc)
	assert.Equal(t, []string{"lease"}, c.Requires)
	require.Len(t, c.Steps, 3)
	assert.Equal(t, 6, c.Steps[1].Line)
	assert.Equal(t, "text/xml; charset=utf-8", c.Steps[1].Opts["content-type"])
	assert.Equal(t, []string{"400", "doctype"}, c.Steps[2].Args)
	assert.Equal(t, "<a/>\n", string(c.Files["doc"]))
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, text, want string
		line             int
	}{
		{"empty", "# only a comment\n", "no steps", 1},
		{"unknown verb", "send 0384 x\n", "unknown directive", 1},
		{"undefined message", "post 0384 heen\n", `message "heen" is not defined`, 1},
		{"expect first", "message m inline\nexpect 200\n-- m --\n", "expect without a request", 2},
		{"status not a number", "message m inline\npost 1 m\nexpect ok\n-- m --\n", "HTTP status first", 3},
		{"missing section", "message m inline\npost 1 m\n", "has no section", 1},
		{"twice", "message m inline\nmessage m inline\n-- m --\n", "defined twice", 2},
		{"arguments", "poll\n", "takes 1 to 1 arguments", 1},
		{"requires late", "message m inline\nrequires lease\n-- m --\n", "before the steps", 2},
		{"bad quote", "message m inline x=\"abc\n", "quoted", 1},
		{"positional after option", "message m sample WMO301 seed=1 x\n", "after key=value", 1},
		{"option twice", "message m sample WMO301 seed=1 seed=2\n", "given twice", 1},
		{"expect unknown message", "message m inline\npost 1 m\nexpect 200 bytes=n\n-- m --\n", `"n" is not defined`, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("t.case", []byte(tt.text))
			var pe *ParseError
			require.True(t, errors.As(err, &pe), "%v", err)
			assert.Contains(t, pe.Msg, tt.want)
			assert.Equal(t, tt.line, pe.Line)
		})
	}
}

func TestLoadSuite(t *testing.T) {
	cases, err := Load("testdata")
	require.NoError(t, err)
	assert.GreaterOrEqual(t, len(cases), 150)
	for _, c := range cases {
		assert.NotEmpty(t, c.Doc, "case %s says what it checks", c.Name)
	}
}

// TestRunFailureAndSkip runs cases against a fake switch that accepts
// everything: an expectation of refusal fails at its line; a case needing
// a lease the run does not know is skipped.
func TestRunFailureAndSkip(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		w.Write([]byte(`{"id":"x","status":"stored","ontvanger":"42420001"}`))
	}))
	defer ts.Close()
	parse := func(name, text string) *Case {
		c, err := Parse(name+".case", []byte(text))
		require.NoError(t, err)
		return c
	}
	cases := []*Case{
		parse("refused", "# r\nmessage m sample WMO301 afzender=0384 ontvanger=42420001\npost 0384 m\nexpect 403 sender-mismatch\n"),
		parse("accepted", "# a\nmessage m sample WMO301 afzender=0384 ontvanger=42420001\npost 0384 m\nexpect 202 stored ontvanger=42420001\n"),
		parse("lease", "# l\nrequires lease\nmessage m inline\npost 0384 m\nexpect 202\n-- m --\nx\n"),
	}
	rep, err := Run(context.Background(), Config{Target: ts.URL}, cases)
	require.NoError(t, err)
	assert.Equal(t, "1 passed, 1 failed, 1 skipped", rep.Summary())
	assert.Equal(t, Fail, rep.Results[0].Outcome)
	assert.Equal(t, "refused.case:4", rep.Results[0].Where())
	assert.Contains(t, rep.Results[0].Seen, "202")
	assert.Equal(t, Pass, rep.Results[1].Outcome)
	assert.Equal(t, Skip, rep.Results[2].Outcome)
	assert.Contains(t, rep.Results[2].Message, "lease")

	var b strings.Builder
	require.NoError(t, rep.WriteText(&b, true))
	assert.True(t, strings.HasSuffix(b.String(), "\n1 passed, 1 failed, 1 skipped\n"), b.String())
}

func TestRunPrefix(t *testing.T) {
	_, err := Run(context.Background(), Config{Target: "http://127.0.0.1:1", Prefix: "UPPER"}, nil)
	require.Error(t, err)
	_, err = Run(context.Background(), Config{}, nil)
	require.Error(t, err)
}

// FuzzParse: no case file, however broken, makes Parse panic, and a parsed
// case refers only to messages it defines.
func FuzzParse(f *testing.F) {
	f.Add([]byte("message m sample WMO301 seed=1\npost 0384 m\nexpect 202 stored\n"))
	f.Add([]byte("message m inline x=\"a b\"\n-- m --\n<a/>\n-- n --\n"))
	f.Add([]byte("requires lease\nmessage m derive m bom\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("f.case", data)
		if err != nil {
			return
		}
		defined := map[string]bool{}
		for _, st := range c.Steps {
			if st.Verb == "message" {
				defined[st.Args[0]] = true
			}
		}
		for _, st := range c.Steps {
			switch st.Verb {
			case "post", "validate", "fetch", "confirm", "trace", "retour":
				if !defined[st.Args[1]] {
					t.Fatalf("step at line %d uses undefined message %q", st.Line, st.Args[1])
				}
			}
		}
	})
}

func TestComments(t *testing.T) {
	for _, n := range []int{8, 9, maxComment - 1, maxComment, maxComment + 1, maxComment + 7, 3*maxComment + 5} {
		c := comments(n)
		assert.Len(t, c, n, "n=%d", n)
		assert.Equal(t, strings.Count(string(c), "<!--"), strings.Count(string(c), "-->"), "n=%d", n)
		for _, part := range strings.SplitAfter(string(c), "-->\n") {
			assert.LessOrEqual(t, len(part), maxComment, "n=%d", n)
		}
	}
}
