package gateway

import (
	"html/template"
	"net/http"
	"time"
)

// Browsers send no Authorization header of their own, so where bearer
// tokens are enabled (--dev, test environments) a person logs in with a
// form: the token goes into an HttpOnly, SameSite=Strict cookie, which
// authenticate then reads as the bearer token. In production people use
// their client certificate, and the form is not served.

// sessionCookie carries a bearer token for a browser.
const sessionCookie = "knooppunt_token"

// sessionAge is how long a login lasts.
const sessionAge = 8 * time.Hour

// loginRoutes are served, without credentials, when tokens are enabled.
var loginRoutes = []route{
	{"/login", http.MethodGet, (*Server).loginForm},
	{"/login", http.MethodPost, (*Server).login},
	{"/logout", http.MethodPost, (*Server).logout},
}

var loginPage = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="nl"><head><meta charset="utf-8"><title>Knooppunt — inloggen</title></head>
<body><main>
<h1>Knooppunt</h1>
<p>Log in met een token: in ontwikkelmodus een dat <code>knooppunt serve --dev</code> bij de start toonde (dev-0384, dev-operator, …).</p>
{{if .}}<p role="alert"><strong>{{.}}</strong></p>{{end}}
<form method="post" action="/login">
<label>Token <input name="token" type="password" autocomplete="off" required></label>
<button type="submit">Inloggen</button>
</form>
</main></body></html>
`))

// writeLoginPage answers the form with status and, if not empty, why the
// last try failed.
func (s *Server) writeLoginPage(w http.ResponseWriter, rq *request, status int, problem string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	w.WriteHeader(status)
	rq.status, rq.code = status, "ok"
	if status != http.StatusOK {
		rq.code = CodeUnauthenticated
	}
	_ = loginPage.Execute(w, problem) // a failed write means the browser went away
}

// loginForm is GET /login.
func (s *Server) loginForm(w http.ResponseWriter, r *http.Request, rq *request) error {
	s.writeLoginPage(w, rq, http.StatusOK, "")
	return nil
}

// login is POST /login: a known token becomes the session cookie, and the
// browser goes on to the dashboard.
func (s *Server) login(w http.ResponseWriter, r *http.Request, rq *request) error {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if err := r.ParseForm(); err != nil {
		s.writeLoginPage(w, rq, http.StatusBadRequest, "Het formulier kon niet worden gelezen.")
		return nil
	}
	token := r.PostForm.Get("token")
	p, ok := s.cfg.Parties.ByToken(token)
	if !ok {
		s.writeLoginPage(w, rq, http.StatusUnauthorized, "Onbekend token.")
		return nil
	}
	rq.principal = p
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: token, Path: "/", MaxAge: int(sessionAge / time.Second),
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	http.Redirect(w, r, "/dashboard", http.StatusSeeOther)
	rq.status, rq.code = http.StatusSeeOther, "ok"
	return nil
}

// logout is POST /logout: the session cookie is removed.
func (s *Server) logout(w http.ResponseWriter, r *http.Request, rq *request) error {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	rq.status, rq.code = http.StatusSeeOther, "ok"
	return nil
}
