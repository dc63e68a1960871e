package app_test

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"portico/internal/app/apptest"
	"portico/internal/config"
	"portico/internal/platform/mail/mailtest"
)

var resetLinkRE = regexp.MustCompile(`http://\S+/portal/reset\?token=([A-Za-z0-9_%-]+)`)

// TestForgottenPassword: a user asks for a link on the log-in page, gets it by
// e-mail from a real SMTP server, sets a new password with it once, and is
// signed in; the old password and old sessions no longer work. Unknown
// addresses get the same answer and no mail.
func TestForgottenPassword(t *testing.T) {
	smtpd := mailtest.Start(t)
	apptest.Each(t, func(t *testing.T, s *apptest.Server) {
		admin := s.AdminToken(t)
		dev := s.NewUser(t, admin, "dev@example.com", "developer")
		b := s.Browser(t)
		_, login := get(t, b, s.URL+"/portal/login")
		if !strings.Contains(string(login), `href="/portal/forgot"`) {
			t.Fatal("the log-in page has no forgotten-password link")
		}
		before := len(smtpd.Messages())
		_, page := get(t, b, s.URL+"/portal/forgot")
		csrf := csrfFrom(t, page)
		ask := func(email string) string {
			resp, page := postForm(t, b, s.URL+"/portal/forgot", url.Values{"csrf_token": {csrf}, "email": {email}})
			if resp.StatusCode != 200 {
				t.Fatalf("ask for %s: %d %s", email, resp.StatusCode, page)
			}
			return string(page)
		}
		unknown, known := ask("nobody@example.com"), ask("dev@example.com")
		if !strings.Contains(known, "on its way") || strings.ReplaceAll(unknown, "nobody@example.com", "X") != strings.ReplaceAll(known, "dev@example.com", "X") {
			t.Fatal("known and unknown addresses are answered differently")
		}
		ask("dev@example.com") // a second ask within the minute sends nothing more
		msgs := smtpd.Wait(t, before+1, 10*time.Second)
		time.Sleep(300 * time.Millisecond)
		if n := len(smtpd.Messages()) - before; n != 1 {
			t.Fatalf("%d messages, want one (no mail for unknown addresses, one per minute)", n)
		}
		m := msgs[before]
		link := resetLinkRE.FindStringSubmatch(m.Body)
		if m.To[0] != "dev@example.com" || m.Subject != "Reset your Portico password" || link == nil {
			t.Fatalf("mail: %+v", m)
		}
		token, _ := url.QueryUnescape(link[1])

		other := s.Browser(t) // a session from before the reset
		_, lp := get(t, other, s.URL+"/portal/login")
		postForm(t, other, s.URL+"/portal/login", url.Values{"csrf_token": {csrfFrom(t, lp)}, "email": {"dev@example.com"}, "password": {"user-password-1"}})

		resp, page := get(t, b, s.URL+"/portal/reset?token="+url.QueryEscape(token))
		if resp.StatusCode != 200 || !strings.Contains(string(page), `name="token"`) {
			t.Fatalf("reset page: %d %s", resp.StatusCode, page)
		}
		form := url.Values{"csrf_token": {csrfFrom(t, page)}, "token": {token}, "password": {"short"}, "confirm_password": {"short"}}
		if resp, page := postForm(t, b, s.URL+"/portal/reset", form); resp.StatusCode != 400 || !strings.Contains(string(page), "at least") {
			t.Fatalf("weak password: %d %s", resp.StatusCode, page)
		}
		form.Set("password", "a-new-password-2")
		form.Set("confirm_password", "a-new-password-2")
		resp, _ = postForm(t, b, s.URL+"/portal/reset", form)
		if resp.StatusCode != 303 {
			t.Fatalf("reset: %d", resp.StatusCode)
		}
		if resp, _ := get(t, b, s.URL+"/portal/account"); resp.StatusCode != 200 {
			t.Fatalf("not signed in after the reset: %d", resp.StatusCode)
		}
		if resp, _ := postForm(t, b, s.URL+"/portal/reset", form); resp.StatusCode != 400 {
			t.Fatalf("a link used twice: %d", resp.StatusCode)
		}
		if resp, _ := get(t, other, s.URL+"/portal/account"); resp.StatusCode != 303 {
			t.Fatalf("a session from before the reset: %d", resp.StatusCode)
		}
		if r := s.Do(t, "GET", "/api/v1/me", dev, nil); r.Status != 401 {
			t.Fatalf("a token from before the reset: %d", r.Status)
		}
		if r := s.Do(t, "POST", "/api/v1/tokens", "", map[string]string{"email": "dev@example.com", "password": "user-password-1"}); r.Status != 401 {
			t.Fatalf("the old password: %d", r.Status)
		}
		s.Token(t, "dev@example.com", "a-new-password-2")
		if resp, page := get(t, b, s.URL+"/portal/reset?token=forged"); resp.StatusCode != 400 || !strings.Contains(string(page), "expired or was used") {
			t.Fatalf("a forged link: %d", resp.StatusCode)
		}
	}, apptest.Option(func(c *config.Config) { c.SMTPURL = smtpd.URL }))
}

// TestForgottenPasswordWithoutMail: without SMTP_URL the page says to ask an
// administrator instead of pretending to send.
func TestForgottenPasswordWithoutMail(t *testing.T) {
	apptest.Each(t, func(t *testing.T, s *apptest.Server) {
		b := s.Browser(t)
		resp, page := get(t, b, s.URL+"/portal/forgot")
		if resp.StatusCode != 200 || !strings.Contains(string(page), "sends no e-mail") || strings.Contains(string(page), `action="/portal/forgot"`) {
			t.Fatalf("forgot page without mail: %d %s", resp.StatusCode, page)
		}
		_, login := get(t, b, s.URL+"/portal/login")
		resp, page = postForm(t, b, s.URL+"/portal/forgot", url.Values{"csrf_token": {csrfFrom(t, login)}, "email": {"dev@example.com"}})
		if resp.StatusCode != 409 || !strings.Contains(string(page), "administrator") {
			t.Fatalf("asking without mail: %d %s", resp.StatusCode, page)
		}
	})
}
