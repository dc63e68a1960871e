package app_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"portico/internal/app/apptest"
)

func userID(t *testing.T, s *apptest.Server, token string) string {
	t.Helper()
	var me struct{ ID string }
	mustDo(t, s, "GET", "/api/v1/me", token, nil, 200).JSON(t, &me)
	return me.ID
}

// TestAdminsManageUsers: an admin changes a user's role (in force at the
// user's next call), disables and enables them, and sets a new password; the
// organisation always keeps an active admin; nobody else manages users, and
// another organisation's users are not found.
func TestAdminsManageUsers(t *testing.T) {
	apptest.Each(t, func(t *testing.T, s *apptest.Server) {
		admin := s.AdminToken(t)
		adminID := userID(t, s, admin)
		dev := s.NewUser(t, admin, "dev@example.com", "developer")
		devID := userID(t, s, dev)
		patch := func(token, id string, body any) *apptest.Response {
			return s.Do(t, "PATCH", "/api/v1/users/"+id, token, body)
		}

		// Only admins manage users; others do not even see them.
		if r := patch(dev, devID, map[string]string{"role": "admin"}); r.Status != 403 {
			t.Fatalf("a developer promoting themselves: %d %s", r.Status, r.Body)
		}
		if r := patch(dev, adminID, map[string]bool{"disabled": true}); r.Status != 404 {
			t.Fatalf("a developer disabling the admin: %d %s", r.Status, r.Body)
		}
		other := s.NewOrg(t, "rival")
		if r := patch(other, devID, map[string]string{"role": "admin"}); r.Status != 404 {
			t.Fatalf("another organisation's admin: %d %s", r.Status, r.Body)
		}

		// Bad input says what is wrong and changes nothing.
		for _, tc := range []struct {
			body       any
			code, what string
		}{
			{map[string]string{"role": "owner"}, "invalid_role", "unknown role"},
			{map[string]string{}, "nothing_to_change", "empty change"},
			{map[string]string{"password": "short"}, "weak_password", "short password"},
			{`{"role": 7}`, "invalid_field", "role of the wrong type"},
		} {
			var r *apptest.Response
			if raw, ok := tc.body.(string); ok {
				req, _ := http.NewRequest("PATCH", s.URL+"/api/v1/users/"+devID, strings.NewReader(raw))
				req.Header.Set("Authorization", "Bearer "+admin)
				req.Header.Set("Content-Type", "application/json")
				r = s.Send(t, req)
			} else {
				r = patch(admin, devID, tc.body)
			}
			if r.Status != 400 || r.ErrorCode() != tc.code {
				t.Errorf("%s: %d %s, want 400 %s", tc.what, r.Status, r.Body, tc.code)
			}
		}

		// A role change is in force at the user's next call.
		tier := map[string]any{"name": "Team", "requests": 10, "per": "minute"}
		if r := s.Do(t, "POST", "/api/v1/tiers", dev, tier); r.Status != 403 {
			t.Fatalf("developer creating a tier: %d", r.Status)
		}
		var u struct {
			Role     string
			Disabled bool
		}
		mustDo(t, s, "PATCH", "/api/v1/users/"+devID, admin, map[string]string{"role": "publisher"}, 200).JSON(t, &u)
		if u.Role != "publisher" {
			t.Fatalf("after the change: %+v", u)
		}
		mustDo(t, s, "POST", "/api/v1/tiers", dev, tier, 201)

		// The last active admin stays one.
		for _, body := range []any{map[string]string{"role": "developer"}, map[string]bool{"disabled": true}} {
			if r := patch(admin, adminID, body); r.Status != 409 || r.ErrorCode() != "last_admin" {
				t.Fatalf("the last admin %v: %d %s", body, r.Status, r.Body)
			}
		}
		second := s.NewUser(t, admin, "second@example.com", "admin")
		mustDo(t, s, "PATCH", "/api/v1/users/"+adminID, second, map[string]string{"role": "publisher"}, 200)
		if r := s.Do(t, "GET", "/api/v1/users", admin, nil); r.Status != 403 {
			t.Fatalf("the demoted admin still lists users: %d", r.Status)
		}

		// Disabling ends the user's tokens and log-ins; enabling lets them log in again.
		mustDo(t, s, "PATCH", "/api/v1/users/"+devID, second, map[string]bool{"disabled": true}, 200).JSON(t, &u)
		if !u.Disabled {
			t.Fatalf("disabled: %+v", u)
		}
		if r := s.Do(t, "GET", "/api/v1/me", dev, nil); r.Status != 401 {
			t.Fatalf("a disabled user's token: %d", r.Status)
		}
		creds := map[string]string{"email": "dev@example.com", "password": "user-password-1"}
		if r := s.Do(t, "POST", "/api/v1/tokens", "", creds); r.Status != 401 {
			t.Fatalf("a disabled user logging in: %d", r.Status)
		}
		mustDo(t, s, "PATCH", "/api/v1/users/"+devID, second, map[string]bool{"disabled": false}, 200)
		dev = s.Token(t, "dev@example.com", "user-password-1")

		// A new password set by an admin replaces the old one and ends the tokens.
		mustDo(t, s, "PATCH", "/api/v1/users/"+devID, second, map[string]string{"password": "a-new-password-2"}, 200)
		if r := s.Do(t, "GET", "/api/v1/me", dev, nil); r.Status != 401 {
			t.Fatalf("a token from before the new password: %d", r.Status)
		}
		if r := s.Do(t, "POST", "/api/v1/tokens", "", creds); r.Status != 401 {
			t.Fatalf("the old password still works: %d", r.Status)
		}
		s.Token(t, "dev@example.com", "a-new-password-2")
	})
}

// TestChangeOwnPassword: a user changes their password with the current one;
// mistakes are refused field by field, and the change ends every token.
func TestChangeOwnPassword(t *testing.T) {
	apptest.Each(t, func(t *testing.T, s *apptest.Server) {
		admin := s.AdminToken(t)
		dev := s.NewUser(t, admin, "dev@example.com", "developer")
		other := s.Token(t, "dev@example.com", "user-password-1") // a second token of the same user
		for _, tc := range []struct {
			current, next, code, field string
		}{
			{"", "a-new-password-2", "required", "current_password"},
			{"wrong-password-9", "a-new-password-2", "wrong_password", "current_password"},
			{"user-password-1", "short", "weak_password", "new_password"},
			{"user-password-1", "user-password-1", "same_password", "new_password"},
		} {
			r := s.Do(t, "POST", "/api/v1/me/password", dev, map[string]string{"current_password": tc.current, "new_password": tc.next})
			var body struct {
				Error struct{ Code, Field string }
			}
			r.JSON(t, &body)
			if r.Status != 400 || body.Error.Code != tc.code || body.Error.Field != tc.field {
				t.Errorf("current %q new %q: %d %s, want 400 %s on %s", tc.current, tc.next, r.Status, r.Body, tc.code, tc.field)
			}
		}
		mustDo(t, s, "POST", "/api/v1/me/password", dev, map[string]string{"current_password": "user-password-1", "new_password": "a-new-password-2"}, 204)
		for _, tok := range []string{dev, other} {
			if r := s.Do(t, "GET", "/api/v1/me", tok, nil); r.Status != 401 {
				t.Fatalf("a token from before the change: %d", r.Status)
			}
		}
		if r := s.Do(t, "POST", "/api/v1/tokens", "", map[string]string{"email": "dev@example.com", "password": "user-password-1"}); r.Status != 401 {
			t.Fatalf("the old password: %d", r.Status)
		}
		s.Token(t, "dev@example.com", "a-new-password-2")
	})
}

// TestAccountAndUserPages: the account page changes the password in the
// browser (this browser stays signed in, others are signed out); the admin's
// user page changes a role and refuses to disable the last admin.
func TestAccountAndUserPages(t *testing.T) {
	apptest.Each(t, func(t *testing.T, s *apptest.Server) {
		admin := s.AdminToken(t)
		s.NewUser(t, admin, "dev@example.com", "developer")
		login := func(email, pw string) *http.Client {
			b := s.Browser(t)
			_, page := get(t, b, s.URL+"/portal/login")
			resp, _ := postForm(t, b, s.URL+"/portal/login", url.Values{"csrf_token": {csrfFrom(t, page)}, "email": {email}, "password": {pw}})
			if resp.StatusCode != 303 {
				t.Fatalf("log in %s: %d", email, resp.StatusCode)
			}
			return b
		}
		b, elsewhere := login("dev@example.com", "user-password-1"), login("dev@example.com", "user-password-1")
		resp, page := get(t, b, s.URL+"/portal/account")
		if resp.StatusCode != 200 || !strings.Contains(string(page), "dev@example.com") || !strings.Contains(string(page), `href="/portal/account"`) {
			t.Fatalf("account page: %d %s", resp.StatusCode, page)
		}
		csrf := csrfFrom(t, page)
		form := url.Values{"csrf_token": {csrf}, "current_password": {"user-password-1"}, "new_password": {"a-new-password-2"}, "confirm_password": {"a-new-password-3"}}
		if resp, page := postForm(t, b, s.URL+"/portal/account/password", form); resp.StatusCode != 400 || !strings.Contains(string(page), "The two new passwords differ.") {
			t.Fatalf("mismatched confirmation: %d %s", resp.StatusCode, page)
		}
		form.Set("confirm_password", "a-new-password-2")
		form.Set("current_password", "not-my-password")
		if resp, page := postForm(t, b, s.URL+"/portal/account/password", form); resp.StatusCode != 400 || !strings.Contains(string(page), "That is not your current password.") {
			t.Fatalf("wrong current password: %d %s", resp.StatusCode, page)
		}
		form.Set("current_password", "user-password-1")
		if resp, _ := postForm(t, b, s.URL+"/portal/account/password", form); resp.StatusCode != 303 || resp.Header.Get("Location") != "/portal/account?changed=1" {
			t.Fatalf("change: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		if resp, page := get(t, b, s.URL+"/portal/account?changed=1"); resp.StatusCode != 200 || !strings.Contains(string(page), "Password changed.") {
			t.Fatalf("after the change this browser: %d %s", resp.StatusCode, page)
		}
		if resp, _ := get(t, elsewhere, s.URL+"/portal/account"); resp.StatusCode != 303 || !strings.HasPrefix(resp.Header.Get("Location"), "/portal/login") {
			t.Fatalf("another browser after the change: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		login("dev@example.com", "a-new-password-2")

		// The admin's user page.
		devID := ""
		{
			var list struct{ Items []struct{ ID, Email string } }
			mustDo(t, s, "GET", "/api/v1/users", admin, nil, 200).JSON(t, &list)
			for _, u := range list.Items {
				if u.Email == "dev@example.com" {
					devID = u.ID
				}
			}
		}
		ab := login(apptest.AdminEmail, apptest.AdminPassword)
		_, users := get(t, ab, s.URL+"/admin")
		if !strings.Contains(string(users), `href="/admin/users/`+devID+`"`) {
			t.Fatalf("users page does not link to the user")
		}
		resp, page = get(t, ab, s.URL+"/admin/users/"+devID)
		if resp.StatusCode != 200 {
			t.Fatalf("user page: %d", resp.StatusCode)
		}
		resp, _ = postForm(t, ab, s.URL+"/admin/users/"+devID, url.Values{"csrf_token": {csrfFrom(t, page)}, "what": {"role"}, "role": {"publisher"}})
		if resp.StatusCode != 303 || resp.Header.Get("Location") != "/admin/users/"+devID+"?done=role" {
			t.Fatalf("role form: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		var u struct{ Role string }
		mustDo(t, s, "GET", "/api/v1/users/"+devID, admin, nil, 200).JSON(t, &u)
		if u.Role != "publisher" {
			t.Fatalf("role after the form: %s", u.Role)
		}
		adminID := userID(t, s, admin)
		_, page = get(t, ab, s.URL+"/admin/users/"+adminID)
		resp, page = postForm(t, ab, s.URL+"/admin/users/"+adminID, url.Values{"csrf_token": {csrfFrom(t, page)}, "what": {"disable"}})
		if resp.StatusCode != 409 || !strings.Contains(string(page), "at least one active admin") {
			t.Fatalf("disabling the last admin: %d %s", resp.StatusCode, page)
		}
		if resp, _ := get(t, ab, s.URL+"/admin/users/01a20000-0000-7000-8000-000000000000"); resp.StatusCode != 404 {
			t.Fatalf("an unknown user's page: %d", resp.StatusCode)
		}
	})
}

// TestPersonalAccessTokens: a user lists their tokens (never the secrets) and
// revokes one, which stops working at once; another user's token is not
// theirs to revoke. The account page makes a token, shows it once, and
// revokes it.
func TestPersonalAccessTokens(t *testing.T) {
	apptest.Each(t, func(t *testing.T, s *apptest.Server) {
		admin := s.AdminToken(t)
		dev := s.NewUser(t, admin, "dev@example.com", "developer")
		spare := s.Token(t, "dev@example.com", "user-password-1")
		var list struct {
			Items []struct{ ID, Name string }
		}
		r := mustDo(t, s, "GET", "/api/v1/tokens", dev, nil, 200)
		r.JSON(t, &list)
		if len(list.Items) != 2 || strings.Contains(string(r.Body), "pat_") {
			t.Fatalf("token list: %s", r.Body)
		}
		var adminTokens struct{ Items []struct{ ID string } }
		mustDo(t, s, "GET", "/api/v1/tokens", admin, nil, 200).JSON(t, &adminTokens)
		if r := s.Do(t, "DELETE", "/api/v1/tokens/"+adminTokens.Items[0].ID, dev, nil); r.Status != 404 {
			t.Fatalf("revoking another user's token: %d", r.Status)
		}
		mustDo(t, s, "GET", "/api/v1/me", admin, nil, 200)
		// Revoke the spare token (the newer one: listed first).
		mustDo(t, s, "DELETE", "/api/v1/tokens/"+list.Items[0].ID, dev, nil, 204)
		if r := s.Do(t, "GET", "/api/v1/me", spare, nil); r.Status != 401 {
			t.Fatalf("a revoked token: %d", r.Status)
		}
		mustDo(t, s, "GET", "/api/v1/me", dev, nil, 200)
		if r := s.Do(t, "DELETE", "/api/v1/tokens/"+list.Items[0].ID, dev, nil); r.Status != 404 {
			t.Fatalf("revoking twice: %d", r.Status)
		}

		b := s.Browser(t)
		_, page := get(t, b, s.URL+"/portal/login")
		postForm(t, b, s.URL+"/portal/login", url.Values{"csrf_token": {csrfFrom(t, page)}, "email": {"dev@example.com"}, "password": {"user-password-1"}})
		_, page = get(t, b, s.URL+"/portal/account")
		resp, page := postForm(t, b, s.URL+"/portal/account/tokens", url.Values{"csrf_token": {csrfFrom(t, page)}, "token_name": {"ci deploys"}})
		tok := regexp.MustCompile(`pat_[A-Za-z0-9_-]+`).Find(page)
		if resp.StatusCode != 200 || tok == nil || !strings.Contains(string(page), "ci deploys") {
			t.Fatalf("token made on the account page: %d %s", resp.StatusCode, page)
		}
		mustDo(t, s, "GET", "/api/v1/me", string(tok), nil, 200)
		if _, again := get(t, b, s.URL+"/portal/account"); strings.Contains(string(again), string(tok)) {
			t.Fatal("the token is shown again")
		}
		var mine struct{ Items []struct{ ID, Name string } }
		mustDo(t, s, "GET", "/api/v1/tokens", dev, nil, 200).JSON(t, &mine)
		if mine.Items[0].Name != "ci deploys" {
			t.Fatalf("newest token: %+v", mine.Items)
		}
		resp, _ = postForm(t, b, s.URL+"/portal/account/tokens/"+mine.Items[0].ID+"/revoke", url.Values{"csrf_token": {csrfFrom(t, page)}})
		if resp.StatusCode != 303 {
			t.Fatalf("revoke form: %d", resp.StatusCode)
		}
		if r := s.Do(t, "GET", "/api/v1/me", string(tok), nil); r.Status != 401 {
			t.Fatalf("revoked on the page, still works: %d", r.Status)
		}
	})
}
