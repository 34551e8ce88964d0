package gateway_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLoginForm: where tokens are enabled a browser logs in with a form;
// the token becomes an HttpOnly, SameSite=Strict cookie the API then
// accepts as the bearer token; an unknown token gets the form again with
// 401; logout removes the cookie. The page has a strict CSP and no script.
func TestLoginForm(t *testing.T) {
	h := newHarness(t)
	page := h.do(http.MethodGet, "/login", "", "", nil)
	require.Equal(t, http.StatusOK, page.status)
	assert.Contains(t, page.header.Get("Content-Type"), "text/html")
	assert.Contains(t, page.header.Get("Content-Security-Policy"), "default-src 'none'")
	assert.NotContains(t, string(page.body), "<script")
	assert.Contains(t, string(page.body), `<form method="post" action="/login">`)

	client := &http.Client{Transport: &http.Transport{},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	defer client.CloseIdleConnections()
	resp, err := client.PostForm(h.url+"/login", url.Values{"token": {"tok-nobody"}})
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Empty(t, resp.Cookies())

	resp, err = client.PostForm(h.url+"/login", url.Values{"token": {"tok-42420001"}})
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	assert.Equal(t, "/dashboard", resp.Header.Get("Location"))
	require.Len(t, resp.Cookies(), 1)
	c := resp.Cookies()[0]
	assert.True(t, c.HttpOnly)
	assert.Equal(t, http.SameSiteStrictMode, c.SameSite)
	assert.Equal(t, "/", c.Path)

	req, _ := http.NewRequest(http.MethodGet, h.url+"/v1/mailbox", nil)
	req.AddCookie(c)
	resp, err = client.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, "the cookie authenticates")

	resp, err = client.Post(h.url+"/logout", "application/x-www-form-urlencoded", strings.NewReader(""))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Len(t, resp.Cookies(), 1)
	assert.Negative(t, resp.Cookies()[0].MaxAge, "the cookie is removed")
}
