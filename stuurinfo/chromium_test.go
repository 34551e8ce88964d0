package stuurinfo

import (
	"bytes"
	"context"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/internal/browser"
)

var (
	chromiumOnce sync.Once
	chromiumPath string
	chromiumWhy  string
)

// chromium finds Debian's chromium, installing it with apt-get when running
// as root; otherwise it says why it cannot.
func chromium(t *testing.T) string {
	chromiumOnce.Do(func() {
		if p, err := exec.LookPath("chromium"); err == nil {
			chromiumPath = p
			return
		}
		if os.Geteuid() != 0 {
			chromiumWhy = "chromium is not installed and the test is not root, so it cannot apt-get install it"
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		install := func() error {
			cmd := exec.CommandContext(ctx, "apt-get", "install", "-y", "--no-install-recommends", "chromium")
			cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Logf("apt-get install chromium: %v\n%s", err, lastLines(out, 5))
			}
			return err
		}
		if install() != nil {
			_ = exec.CommandContext(ctx, "apt-get", "update").Run()
			if install() != nil {
				chromiumWhy = "chromium is not installed and apt-get install chromium failed"
				return
			}
		}
		if p, err := exec.LookPath("chromium"); err == nil {
			chromiumPath = p
		} else {
			chromiumWhy = "apt-get installed chromium but it is not on PATH"
		}
	})
	if chromiumPath == "" {
		t.Skip("dashboard browser test skipped: " + chromiumWhy)
	}
	return chromiumPath
}

func lastLines(b []byte, n int) string {
	l := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

// runChromium runs headless chromium with the flags that work in this
// environment plus extra, and returns its standard output.
func runChromium(t *testing.T, bin string, extra ...string) []byte {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir()}, extra...)
	cmd := exec.CommandContext(ctx, bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "chromium: %s", lastLines(stderr.Bytes(), 10))
	return stdout.Bytes()
}

// TestDashboardInChromium renders the dashboard in a real headless browser:
// the DOM must hold the three charts with their bars, and a screenshot must
// show the bars' colours.
func TestDashboardInChromium(t *testing.T) {
	bin := chromium(t)
	a := NewAggregates(time.UTC)
	now := date("2026-05-20")
	for d := 0; d < 70; d++ {
		for i := 0; i < 1+d%9; i++ {
			at := now.AddDate(0, 0, -d)
			a.Record(&Observation{Soort: "WMO302", Sender: "12345678", Recipient: "0363", Received: at,
				AnswersReceived: at.AddDate(0, 0, -(i % 6)), AnswersSoort: "WMO301",
				Body: []byte("<R><Header><RetourCodes><RetourCode>" + []string{"0200", "0001"}[i%2] + "</RetourCode></RetourCodes></Header></R>")})
		}
	}
	srv := httptest.NewServer(Handler(HandlerConfig{Aggregates: a, Location: time.UTC,
		Authenticate: func(*http.Request) (Principal, bool) { return Principal{ID: "beheer", Operator: true}, true },
		Mailboxes:    func(Principal) (MailboxStatus, bool) { return MailboxStatus{Open: 3, Quarantined: 1}, true },
		Now:          func() time.Time { return now }}))
	defer srv.Close()
	url := srv.URL + "/dashboard"

	dom := string(runChromium(t, bin, "--dump-dom", url))
	for id, bars := range map[string]int{"chart-volume": 11, "chart-afkeur": 11, "chart-doorlooptijd": 1} {
		i := strings.Index(dom, `<svg id="`+id+`"`)
		require.GreaterOrEqual(t, i, 0, "chart %s in the DOM", id)
		j := strings.Index(dom[i:], "</svg>")
		assert.GreaterOrEqual(t, strings.Count(dom[i:i+j], `class="bar"`), bars, "bars in %s", id)
	}
	assert.Contains(t, dom, "In quarantaine")

	shot := filepath.Join(t.TempDir(), "dashboard.png")
	if keep := os.Getenv("DASHBOARD_SCREENSHOT"); keep != "" { // to look at it
		shot = keep
	}
	runChromium(t, bin, "--hide-scrollbars", "--window-size=900,1300", "--screenshot="+shot, url)
	f, err := os.Open(shot)
	require.NoError(t, err, "screenshot written")
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err)
	blue, green := browser.CountColour(img, 0x2a, 0x6f, 0xb0), browser.CountColour(img, 0x2f, 0x8f, 0x4e)
	t.Logf("screenshot %v: %d bar pixels, %d norm pixels", img.Bounds().Size(), blue, green)
	assert.Greater(t, blue, 2000, "volume and afkeur bars visible")
	assert.Greater(t, green, 500, "lead-time bars visible")
}
