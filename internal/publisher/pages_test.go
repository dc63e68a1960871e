package publisher_test

import (
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"portico/internal/app/apptest"
)

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

type browser struct {
	t *testing.T
	s *apptest.Server
	c *http.Client
}

func (b browser) get(path string) (*http.Response, string) {
	b.t.Helper()
	resp, err := b.c.Get(b.s.URL + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func (b browser) post(path string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	_, page := b.get("/publisher/tiers") // any page carries the token
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		b.t.Fatalf("no csrf token: %.300s", page)
	}
	form.Set("csrf_token", m[1])
	resp, err := b.c.PostForm(b.s.URL+path, form)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func logIn(t *testing.T, s *apptest.Server, email, password string) browser {
	t.Helper()
	b := browser{t: t, s: s, c: s.Browser(t)}
	_, page := b.get("/portal/login")
	m := csrfRE.FindStringSubmatch(page)
	resp, err := b.c.PostForm(s.URL+"/portal/login", url.Values{"csrf_token": {m[1]}, "email": {email}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("log in: %d", resp.StatusCode)
	}
	return b
}

func TestPublisherPages(t *testing.T) {
	apptest.Each(t, func(t *testing.T, s *apptest.Server) {
		b := logIn(t, s, apptest.AdminEmail, apptest.AdminPassword)

		resp, _ := b.get("/publisher")
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/publisher/apis" {
			t.Fatalf("/publisher: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		for _, p := range []string{"/publisher/apis", "/publisher/apis/new", "/publisher/apis/import", "/publisher/tiers"} {
			if resp, body := b.get(p); resp.StatusCode != 200 {
				t.Fatalf("%s: %d %.500s", p, resp.StatusCode, body)
			}
		}

		// A refused form keeps what was typed and shows the error by the field.
		resp, body := b.post("/publisher/apis", url.Values{"name": {"Kept name"}, "context": {"admin"}, "version": {"v1"}})
		if resp.StatusCode != 400 || !strings.Contains(body, "Kept name") || !strings.Contains(body, "reserved by Portico") {
			t.Fatalf("refused create: %d %.800s", resp.StatusCode, body)
		}

		spec, err := os.ReadFile("../catalog/testdata/petstore.yaml")
		if err != nil {
			t.Fatal(err)
		}
		resp, body = b.post("/publisher/apis/import", url.Values{"context": {"petstore"}, "spec": {string(spec)}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("import: %d %.800s", resp.StatusCode, body)
		}
		apiPath := resp.Header.Get("Location")
		apiPath = apiPath[:strings.IndexByte(apiPath, '?')]
		for _, p := range []string{apiPath, apiPath + "/operations", apiPath + "/documents", apiPath + "/openapi", "/publisher/apis?q=pet"} {
			resp, body := b.get(p)
			if resp.StatusCode != 200 {
				t.Fatalf("%s: %d %.800s", p, resp.StatusCode, body)
			}
		}
		_, body = b.get(apiPath)
		if !strings.Contains(body, `data-action="prototype"`) || strings.Contains(body, `data-action="retire"`) {
			t.Errorf("CREATED API page shows the wrong lifecycle buttons")
		}

		// A bad spec is refused beside the editor, and nothing is stored.
		resp, body = b.post("/publisher/apis/import", url.Values{"context": {"broken"}, "spec": {"openapi: 3.0.3\ninfo: {title: x, version: 1}\npaths: {}\n"}})
		if resp.StatusCode != 400 || !strings.Contains(body, "version must be a string") {
			t.Fatalf("broken import: %d %.800s", resp.StatusCode, body)
		}

		resp, body = b.post(apiPath+"/documents", url.Values{"title": {"Guide"}, "body": {"# Hi <script>alert(1)</script>"}, "preview": {"1"}})
		if resp.StatusCode != 200 || !strings.Contains(body, `id="preview"`) || strings.Contains(body, "<script>alert") {
			t.Fatalf("preview: %d %.800s", resp.StatusCode, body)
		}
		resp, body = b.post("/publisher/tiers", url.Values{"name": {"Partner"}, "requests": {"abc"}, "per": {"hour"}})
		if resp.StatusCode != 400 || !strings.Contains(body, "whole number") {
			t.Fatalf("bad tier: %d", resp.StatusCode)
		}
	})
}

func TestPublisherRefusesDevelopers(t *testing.T) {
	s := apptest.Start(t, "sqlite")
	s.NewUser(t, s.AdminToken(t), "dev@example.com", "developer")
	b := logIn(t, s, "dev@example.com", "user-password-1")
	if resp, _ := b.get("/publisher/apis"); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("developer: %d", resp.StatusCode)
	}
}

func TestAPIPageShowsItsHistory(t *testing.T) {
	s := apptest.Start(t, "sqlite")
	admin := s.AdminToken(t)
	r := s.Do(t, "POST", "/api/v1/apis", admin, map[string]any{"name": "Hist", "context": "hist", "version": "v1", "backend_url": "http://127.0.0.1:9"})
	var api struct{ ID string }
	r.JSON(t, &api)
	if r := s.Do(t, "POST", "/api/v1/apis/"+api.ID+"/lifecycle", admin, map[string]string{"action": "publish"}); r.Status != 200 {
		t.Fatalf("publish: %d %s", r.Status, r.Body)
	}
	b := logIn(t, s, apptest.AdminEmail, apptest.AdminPassword)
	resp, body := b.get("/publisher/apis/" + api.ID)
	if resp.StatusCode != 200 || !strings.Contains(body, "api.lifecycle") || !strings.Contains(body, apptest.AdminEmail) || !strings.Contains(body, "Test it through the gateway") {
		t.Fatalf("history missing: %d %s", resp.StatusCode, body)
	}
}
