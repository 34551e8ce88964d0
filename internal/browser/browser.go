// Package browser drives Debian's Chromium for tests, through the DevTools
// protocol (chromedp): pages are read as a person's browser renders them,
// not as our own code would parse them. It is for tests only.
package browser

import (
	"context"
	"image"
	"os/exec"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// Browser is one headless Chromium with one tab.
type Browser struct {
	t   *testing.T
	ctx context.Context
}

// Start starts Chromium for the test, which it stops at the end; the test
// is skipped when Chromium is not installed (make test-deps installs it).
func Start(t *testing.T) *Browser {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed (make test-deps installs it)")
	}
	alloc, cancel := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1000, 2400))...)
	t.Cleanup(cancel)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	require.NoError(t, chromedp.Do(ctx), "starting chromium") // no timeout here: it would stop the browser
	return &Browser{t: t, ctx: ctx}
}

// Do runs steps in the tab.
func (b *Browser) Do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	require.NoError(b.t, chromedp.Do(b.ctx, steps...), what)
}

// Login fills in the login form at base/login with token and submits it;
// the switch must lead the browser to its dashboard.
func (b *Browser) Login(base, token string) {
	b.t.Helper()
	b.Do("log in as "+token, chromedp.Navigate(base+"/login"),
		chromedp.SendKeys(chromedp.CSS(`input[name="token"]`), token),
		chromedp.Submit(chromedp.CSS(`form`)),
		chromedp.WaitVisible(chromedp.CSS(`#tile-berichten`)))
	at, err := chromedp.Run(b.ctx, chromedp.Location())
	require.NoError(b.t, err)
	require.Equal(b.t, base+"/dashboard", at, "the login leads to the dashboard")
}

// Open navigates to url and waits until the element sel is shown.
func (b *Browser) Open(url, sel string) {
	b.t.Helper()
	b.Do("opening "+url, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS(sel)))
}

// Text is the rendered text of the first element sel matches, trimmed.
func (b *Browser) Text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	require.NoError(b.t, err, "reading %s", sel)
	return strings.TrimSpace(s)
}

// HTML is the outer HTML of the first element sel matches, as the browser
// serialises its DOM.
func (b *Browser) HTML(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.OuterHTML(chromedp.CSS(sel)))
	require.NoError(b.t, err, "reading %s", sel)
	return s
}

// Rows are the cells' texts of each row of the table sel, header row
// included.
func (b *Browser) Rows(sel string) [][]string {
	b.t.Helper()
	expr := `Array.from(document.querySelectorAll(` + jsString(sel+" tr") + `)).map(r => Array.from(r.cells).map(c => c.textContent.trim()))`
	rows, err := chromedp.Run(b.ctx, chromedp.Evaluate[[][]string](expr))
	require.NoError(b.t, err, "reading the rows of %s", sel)
	return rows
}

// Screenshot is a PNG of the whole page.
func (b *Browser) Screenshot() []byte {
	b.t.Helper()
	shot, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	require.NoError(b.t, err, "a screenshot")
	return shot
}

func jsString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// CountColour counts the pixels of img within a small distance of the
// colour r, g, b: how much of a chart a screenshot shows.
func CountColour(img image.Image, r, g, b uint8) int {
	near := func(x uint32, want uint8) bool {
		d := int(x>>8) - int(want)
		return d > -12 && d < 12
	}
	n := 0
	bounds := img.Bounds()
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			pr, pg, pb, _ := img.At(x, y).RGBA()
			if near(pr, r) && near(pg, g) && near(pb, b) {
				n++
			}
		}
	}
	return n
}
