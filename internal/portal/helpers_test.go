package portal_test

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

// world is an organisation with a publisher's APIs in every state.
type world struct {
	s          *apptest.Server
	admin, pub string
	pets       string // PUBLISHED, imported from testdata/petstore.yaml, Bronze and Gold
	draft      string // CREATED
	proto      string // PROTOTYPED
	oldie      string // DEPRECATED
	gone       string // RETIRED
	secret     string // PUBLISHED, private
	manual     string // PUBLISHED, manual approval
}

func newWorld(t *testing.T, s *apptest.Server) *world {
	t.Helper()
	w := &world{s: s}
	w.admin = s.AdminToken(t)
	w.pub = s.NewUser(t, w.admin, "pub@example.com", "publisher")
	spec, err := os.ReadFile("testdata/petstore.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r := s.Do(t, "POST", "/api/v1/apis/import", w.pub, map[string]any{"spec": string(spec), "context": "pets", "tiers": []string{"Bronze", "Gold"}})
	if r.Status != http.StatusCreated {
		t.Fatalf("import: %d %s", r.Status, r.Body)
	}
	var imp struct{ ID string }
	r.JSON(t, &imp)
	w.pets = imp.ID
	w.move(t, w.pets, "publish")
	doc := map[string]string{"title": "Getting started", "body": "# Hello\n\nCall **GET /pets**.<script>alert(1)</script>"}
	if r := s.Do(t, "POST", "/api/v1/apis/"+w.pets+"/documents", w.pub, doc); r.Status != http.StatusCreated {
		t.Fatalf("document: %d %s", r.Status, r.Body)
	}
	w.draft = w.api(t, map[string]any{"name": "Draft Widgets", "context": "draft"})
	w.proto = w.api(t, map[string]any{"name": "Proto Gadgets", "context": "proto"}, "prototype")
	w.oldie = w.api(t, map[string]any{"name": "Old Weather", "context": "weather", "description": "Forecasts, the old way.", "tags": []string{"weather"}}, "publish", "deprecate")
	w.gone = w.api(t, map[string]any{"name": "Gone Maps", "context": "maps"}, "publish", "deprecate", "retire")
	w.secret = w.api(t, map[string]any{"name": "Internal Payroll", "context": "payroll", "visibility": "private"}, "publish")
	w.manual = w.api(t, map[string]any{"name": "Careful Banking", "context": "bank", "approval": "manual", "tags": []string{"finance"}}, "publish")
	return w
}

func (w *world) api(t *testing.T, body map[string]any, actions ...string) string {
	t.Helper()
	body["version"] = "v1"
	body["backend_url"] = "http://127.0.0.1:9/base"
	if body["tiers"] == nil {
		body["tiers"] = []string{"Bronze", "Gold"}
	}
	r := w.s.Do(t, "POST", "/api/v1/apis", w.pub, body)
	if r.Status != http.StatusCreated {
		t.Fatalf("create API: %d %s", r.Status, r.Body)
	}
	var api struct{ ID string }
	r.JSON(t, &api)
	for _, a := range actions {
		w.move(t, api.ID, a)
	}
	return api.ID
}

func (w *world) move(t *testing.T, id, action string) {
	t.Helper()
	if r := w.s.Do(t, "POST", "/api/v1/apis/"+id+"/lifecycle", w.pub, map[string]string{"action": action}); r.Status != 200 {
		t.Fatalf("%s: %d %s", action, r.Status, r.Body)
	}
}

// browser is a person's browser on the server: a cookie jar and the last CSRF
// token it saw.
type browser struct {
	t    *testing.T
	s    *apptest.Server
	c    *http.Client
	csrf string
}

func newBrowser(t *testing.T, s *apptest.Server) *browser {
	return &browser{t: t, s: s, c: s.Browser(t)}
}

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// get fetches path and returns the status and body.
func (b *browser) get(path string) (int, string) {
	b.t.Helper()
	resp, err := b.c.Get(b.s.URL + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if m := csrfRE.FindStringSubmatch(string(body)); m != nil {
		b.csrf = m[1]
	}
	return resp.StatusCode, string(body)
}

// post submits a form with the CSRF token and returns status, Location and body.
func (b *browser) post(path string, form url.Values) (int, string, string) {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf_token"]; !ok {
		if b.csrf == "" {
			b.get("/portal/login")
		}
		form.Set("csrf_token", b.csrf)
	}
	resp, err := b.c.PostForm(b.s.URL+path, form)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if m := csrfRE.FindStringSubmatch(string(body)); m != nil {
		b.csrf = m[1]
	}
	return resp.StatusCode, resp.Header.Get("Location"), string(body)
}

// signup makes a developer of org (slug; "" for the first) and signs in.
func (b *browser) signup(email, org string) {
	b.t.Helper()
	b.get("/portal/signup")
	st, loc, body := b.post("/portal/signup", url.Values{"email": {email}, "password": {"long-enough-1"}, "org": {org}})
	if st != http.StatusSeeOther {
		b.t.Fatalf("signup %s: %d %s %s", email, st, loc, body)
	}
}

// login signs in with a password.
func (b *browser) login(email, password string) {
	b.t.Helper()
	b.get("/portal/login")
	if st, loc, body := b.post("/portal/login", url.Values{"email": {email}, "password": {password}}); st != http.StatusSeeOther {
		b.t.Fatalf("login %s: %d %s %s", email, st, loc, body)
	}
}

// createApp creates an application from the portal and returns its id and the
// page that shows its secret.
func (b *browser) createApp(org, name string) (string, string) {
	b.t.Helper()
	b.get("/portal/" + org + "/applications")
	st, _, body := b.post("/portal/"+org+"/applications", url.Values{"name": {name}})
	if st != http.StatusCreated {
		b.t.Fatalf("create application %s: %d %s", name, st, body)
	}
	m := regexp.MustCompile(`action="/portal/` + org + `/applications/([0-9a-f-]+)/keys"`).FindStringSubmatch(body)
	if m == nil {
		b.t.Fatalf("no application id in %s", body)
	}
	return m[1], body
}

func contains(t *testing.T, body string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("page lacks %q", w)
		}
	}
}

func lacks(t *testing.T, body string, unwanted ...string) {
	t.Helper()
	for _, w := range unwanted {
		if strings.Contains(body, w) {
			t.Errorf("page shows %q", w)
		}
	}
}
