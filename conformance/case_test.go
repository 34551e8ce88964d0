package conformance

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

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

// TestRunWaitsOutLimits: a target's 429 is waited out after its
// Retry-After and counted, so the case's verdict is the switch's answer
// once the limit has passed; a case that expects the 429 gets it at once;
// and a wait longer than the run allows leaves the 429 to fail the case.
func TestRunWaitsOutLimits(t *testing.T) {
	var mu sync.Mutex
	posts := 0
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		limited := false
		if r.Method == http.MethodPost {
			posts++
			limited = posts%2 == 1 // every other post is over the limit
		}
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if limited {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			w.Write([]byte(`{"code":"rate-limited","message":"retry after 1 s"}`))
			return
		}
		w.WriteHeader(http.StatusAccepted)
		w.Write([]byte(`{"id":"x","status":"stored","ontvanger":"42420001"}`))
	}))
	defer ts.Close()
	accepted, err := Parse("accepted.case", []byte("# a\nmessage m sample WMO301 afzender=0384 ontvanger=42420001\npost 0384 m\nexpect 202 stored\n"))
	require.NoError(t, err)
	limit, err := Parse("limit.case", []byte("# l\nmessage m sample WMO301 afzender=0384 ontvanger=42420001\npost 0384 m\nexpect 429 rate-limited\n"))
	require.NoError(t, err)

	rep, err := Run(context.Background(), Config{Target: ts.URL, Parallel: 1}, []*Case{accepted, limit})
	require.NoError(t, err)
	assert.Equal(t, "2 passed, 0 failed", rep.Summary())
	assert.Equal(t, 1, rep.Results[0].Waits, "the first post was answered 429 and repeated")
	assert.Equal(t, time.Second, rep.Results[0].Waited)
	assert.Zero(t, rep.Results[1].Waits, "the case expecting 429 is answered 429 at once")
	var b strings.Builder
	require.NoError(t, rep.WriteText(&b, false))
	assert.Contains(t, b.String(), "ok   accepted (")
	assert.Contains(t, b.String(), "; 429 waited out 1×, 1s)")
	assert.Contains(t, b.String(), "429 waited out 1×, 1s in all")
	assert.True(t, strings.HasSuffix(b.String(), "\n2 passed, 0 failed\n"), "the summary stays the last line")

	mu.Lock()
	posts = 0
	mu.Unlock()
	rep, err = Run(context.Background(), Config{Target: ts.URL, Parallel: 1, MaxLimitWait: -1}, []*Case{accepted})
	require.NoError(t, err)
	assert.Equal(t, "0 passed, 1 failed", rep.Summary())
	assert.Contains(t, rep.Results[0].Message, "want HTTP status 202 after post, got 429")
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

// TestNummerPlaceholder: {{nummer:NAME}} is a 9-digit number, the same
// wherever NAME recurs in a case, another for another NAME or case, and
// new in another run; in a derive step it reaches the message.
func TestNummerPlaceholder(t *testing.T) {
	c := &Case{Name: "one"}
	run1 := &run{prefix: "aaaaa", today: time.Now().UTC()}
	fields := strings.Fields(string(run1.expand(c, []byte("{{nummer:a}} {{nummer:a}} {{nummer:b}}"))))
	require.Len(t, fields, 3)
	for _, f := range fields {
		assert.Regexp(t, `^[1-9][0-9]{8}$`, f, "an LDT_Nummer of 9 digits")
	}
	assert.Equal(t, fields[0], fields[1], "the same NAME, the same number")
	assert.NotEqual(t, fields[0], fields[2], "another NAME, another number")
	assert.NotEqual(t, fields[0], run1.nummer(&Case{Name: "two"}, "a"), "another case, another number")
	run2 := &run{prefix: "bbbbb", today: run1.today}
	assert.NotEqual(t, fields[0], run2.nummer(c, "a"), "another run, another number")

	c, err := Parse("derive.case", []byte("# d\n"+
		"message base sample WMO305 afzender=42420001 ontvanger=0518 seed=1 products=2\n"+
		"message set derive base set path=//StartProduct[2]/ToewijzingNummer value={{nummer:a}}\n"+
		"message replaced derive set replace old={{nummer:a}} new={{nummer:b}}\n"+
		"post 42420001 replaced\n"))
	require.NoError(t, err)
	msgs := map[string]*message{}
	for _, st := range c.Steps[:3] {
		m, err := run1.build(c, st, msgs)
		require.NoError(t, err, "line %d", st.Line)
		msgs[m.name] = m
	}
	nummers := func(name string) []string {
		var out []string
		for _, m := range regexp.MustCompile(`<wmo305:ToewijzingNummer>(\d+)</`).FindAllSubmatch(msgs[name].body, -1) {
			out = append(out, string(m[1]))
		}
		return out
	}
	base := nummers("base")
	require.Len(t, base, 2)
	assert.Equal(t, []string{base[0], run1.nummer(c, "a")}, nummers("set"))
	assert.Equal(t, []string{base[0], run1.nummer(c, "b")}, nummers("replaced"))
}

// TestPad: pad adds exactly the bytes asked for, only white space between
// elements, at most maxGap in one place, and refuses what does not fit.
func TestPad(t *testing.T) {
	msg := []byte("<?xml version=\"1.0\"?>\n<a>\n\t<b>x y</b>\n\t<c/>\n</a>\n")
	for _, n := range []int{8, 79, 81, 3*maxGap + 5} {
		out, err := pad(msg, n)
		require.NoError(t, err, "n=%d", n)
		assert.Len(t, out, len(msg)+n, "n=%d", n)
		assert.Equal(t, strings.Join(strings.Fields(string(msg)), ""), strings.Join(strings.Fields(string(out)), ""), "only white space added")
		assert.Contains(t, string(out), "<b>x y</b>", "text is left alone")
	}
	_, err := pad(msg, 5*maxGap)
	assert.Error(t, err, "four gaps hold at most 4 MiB")
}
