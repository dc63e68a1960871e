package portal_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"portico/internal/app/apptest"
)

var (
	secretRE = regexp.MustCompile(`<code id="secret-value">([^<]+)</code>`)
	keyIDRE  = regexp.MustCompile(`/keys/([0-9a-f-]+)/revoke`)
	subIDRE  = regexp.MustCompile(`/subscriptions/([0-9a-f-]+)/delete`)
)

func TestAPIPage(t *testing.T) {
	apptest.Each(t, func(t *testing.T, s *apptest.Server) {
		w := newWorld(t, s)
		anon := newBrowser(t, s)
		gateway := s.Config.BaseURL + "/pets/v1"

		t.Run("renders the reference, documents and code samples from the spec", func(t *testing.T) {
			st, body := anon.get("/portal/default/apis/" + w.pets)
			if st != http.StatusOK {
				t.Fatalf("%d", st)
			}
			contains(t, body,
				"<h1>Petstore", "PUBLISHED", `id="op-get-pets"`, `id="op-post-pets"`, `id="op-get-pets-petid"`,
				"List pets", "<em>newest first</em>", // operation description as Markdown
				"<code>limit</code>", "How many to list.", "<code>petId</code>", // parameters
				"Request body", "Rex O&#39;Hara", // the example of the request body
				"No such pet.", "<code>Pet</code>", "<code>Owner</code>", "The pet&#39;s number.", "One of: available, sold", // responses, schemas
				"curl", "--data", "requests.request", "JSON.stringify", "http.NewRequest", // samples in four languages
				gateway+"/pets/42",                             // path parameter filled from the example
				"<h1>Hello</h1>", "<strong>GET /pets</strong>", // the Markdown document
				`id="tryit-data"`, `"base":"/pets/v1"`, "/static/portal/tryit.js",
				"Log in</a> or <a href=\"/portal/signup?org=default\">sign up</a> to subscribe",
			)
			lacks(t, body, "<script>alert(1)</script>")
		})
		t.Run("a deprecated API says so and offers no subscription", func(t *testing.T) {
			_, body := anon.get("/portal/default/apis/" + w.oldie)
			contains(t, body, "DEPRECATED", "<strong>Deprecated.</strong>", "takes no new subscriptions")
			lacks(t, body, `/subscribe"`)
		})
		t.Run("a prototype offers the mock", func(t *testing.T) {
			_, body := anon.get("/portal/default/apis/" + w.proto)
			contains(t, body, "Try it against the mock", "<strong>Prototype.</strong>")
		})
		notFound := []struct{ name, path string }{
			{"a CREATED API", "/portal/default/apis/" + w.draft},
			{"a RETIRED API", "/portal/default/apis/" + w.gone},
			{"a private API for visitors", "/portal/default/apis/" + w.secret},
			{"an API through another organisation's portal", "/portal/globex/apis/" + w.pets},
			{"an unknown id", "/portal/default/apis/nope"},
		}
		s.NewOrg(t, "globex")
		for _, tc := range notFound {
			t.Run("does not show "+tc.name, func(t *testing.T) {
				if st, _ := anon.get(tc.path); st != http.StatusNotFound {
					t.Fatalf("%d", st)
				}
			})
		}
	})
}

func TestApplications(t *testing.T) {
	apptest.Each(t, func(t *testing.T, s *apptest.Server) {
		w := newWorld(t, s)
		dev := newBrowser(t, s)
		dev.signup("alice@example.com", "")
		appID, created := dev.createApp("default", "shop")
		appPath := "/portal/default/applications/" + appID

		t.Run("the client secret is shown once, after create", func(t *testing.T) {
			m := secretRE.FindStringSubmatch(created)
			if m == nil || !strings.HasPrefix(m[1], "cs_") {
				t.Fatalf("no secret on the create page")
			}
			contains(t, created, "Client secret", "shown this once", "app_")
			_, again := dev.get(appPath)
			lacks(t, again, m[1], `id="secret-value"`)
		})

		t.Run("refuses a duplicate name next to the field, keeping the input", func(t *testing.T) {
			st, _, body := dev.post("/portal/default/applications", url.Values{"name": {"shop"}, "description": {"again"}})
			if st != http.StatusConflict {
				t.Fatalf("%d", st)
			}
			contains(t, body, `class="field has-error"`, "already have an application with that name", `value="again"`)
		})
		badCreate := []struct{ name, field, value, want string }{
			{"an empty name", "name", "", "Give the application a name"},
			{"an http callback on a public host", "callback_urls", "http://example.com/cb", "Callback URLs must be absolute https URLs"},
			{"a too long description", "description", strings.Repeat("d", 1001), "at most 1000 characters"},
		}
		for _, tc := range badCreate {
			t.Run("refuses "+tc.name, func(t *testing.T) {
				form := url.Values{"name": {"other"}}
				form.Set(tc.field, tc.value)
				st, _, body := dev.post("/portal/default/applications", form)
				if st != http.StatusBadRequest {
					t.Fatalf("%d", st)
				}
				contains(t, body, tc.want, "has-error")
			})
		}

		t.Run("edits name, description and callback URLs", func(t *testing.T) {
			st, loc, _ := dev.post(appPath, url.Values{"name": {"shop 2"}, "description": {"My shop"}, "callback_urls": {"https://shop.example.com/cb\nhttp://localhost:3000/cb"}})
			if st != http.StatusSeeOther || !strings.HasPrefix(loc, appPath) {
				t.Fatalf("%d %s", st, loc)
			}
			_, body := dev.get(appPath)
			contains(t, body, "<h1>shop 2</h1>", `value="My shop"`, "https://shop.example.com/cb\nhttp://localhost:3000/cb")
			st, _, body = dev.post(appPath, url.Values{"name": {"shop 2"}, "callback_urls": {"ftp://nope"}})
			if st != http.StatusBadRequest {
				t.Fatalf("bad callback: %d", st)
			}
			contains(t, body, "Callback URLs must be", "ftp://nope")
		})

		var key string
		t.Run("an API key is shown once and listed by prefix", func(t *testing.T) {
			st, _, body := dev.post(appPath+"/keys", url.Values{"key_name": {"ci"}, "expires_in": {"30"}})
			if st != http.StatusCreated {
				t.Fatalf("%d", st)
			}
			m := secretRE.FindStringSubmatch(body)
			if m == nil || !strings.HasPrefix(m[1], "pk_") {
				t.Fatal("no key shown")
			}
			key = m[1]
			contains(t, body, "API key “ci”", key[:10]+"…", `data-copy="#secret-value"`)
			_, again := dev.get(appPath)
			lacks(t, again, key)
			contains(t, again, key[:10]+"…", ">ci<")
			st, _, body = dev.post(appPath+"/keys", url.Values{"expires_in": {"forever"}})
			if st != http.StatusBadRequest || !strings.Contains(body, "Choose when the key expires") {
				t.Fatalf("bad expiry: %d", st)
			}
		})

		t.Run("subscribes on Bronze from the API page", func(t *testing.T) {
			_, page := dev.get("/portal/default/apis/" + w.pets)
			contains(t, page, `name="application_id"`, `value="Bronze" checked`, ">shop 2<")
			st, loc, _ := dev.post("/portal/default/apis/"+w.pets+"/subscribe", url.Values{"application_id": {appID}, "tier": {"Bronze"}})
			if st != http.StatusSeeOther || !strings.HasPrefix(loc, appPath) {
				t.Fatalf("%d %s", st, loc)
			}
			_, body := dev.get(appPath)
			contains(t, body, "Petstore v1", "Bronze", "ACTIVE")
		})
		badSubscribe := []struct {
			name, api, app, tier string
			status               int
			want                 string
		}{
			{"subscribing twice", w.pets, appID, "Bronze", http.StatusConflict, "already subscribed"},
			{"a tier the API does not offer", w.manual, appID, "Unlimited", http.StatusBadRequest, "does not offer the tier Unlimited"},
			{"an unknown tier", w.manual, appID, "Platinum", http.StatusBadRequest, "does not offer the tier Platinum"},
			{"a deprecated API", w.oldie, appID, "Bronze", http.StatusConflict, "deprecated and takes no new subscriptions"},
			{"a prototype", w.proto, appID, "Bronze", http.StatusConflict, "This API is a prototype"},
			{"an application that is not there", w.manual, "nope", "Bronze", http.StatusNotFound, "No such application"},
		}
		for _, tc := range badSubscribe {
			t.Run("refuses "+tc.name, func(t *testing.T) {
				st, _, body := dev.post("/portal/default/apis/"+tc.api+"/subscribe", url.Values{"application_id": {tc.app}, "tier": {tc.tier}})
				if st != tc.status || !strings.Contains(body, tc.want) {
					t.Fatalf("%d, wants %q in the page", st, tc.want)
				}
			})
		}
		t.Run("refuses subscribing to a CREATED or RETIRED API as not found", func(t *testing.T) {
			for _, api := range []string{w.draft, w.gone} {
				if st, _, _ := dev.post("/portal/default/apis/"+api+"/subscribe", url.Values{"application_id": {appID}, "tier": {"Bronze"}}); st != http.StatusNotFound {
					t.Fatalf("%d", st)
				}
			}
			if r := s.Do(t, "GET", "/api/v1/subscriptions?application_id="+appID, w.admin, nil); !strings.Contains(string(r.Body), w.pets) || strings.Count(string(r.Body), `"id"`) != 1 {
				t.Fatalf("subscriptions changed: %s", r.Body)
			}
		})
		t.Run("a manual-approval API leaves the subscription pending", func(t *testing.T) {
			st, loc, _ := dev.post("/portal/default/apis/"+w.manual+"/subscribe", url.Values{"application_id": {appID}, "tier": {"Gold"}})
			if st != http.StatusSeeOther || !strings.Contains(loc, "approval") {
				t.Fatalf("%d %s", st, loc)
			}
		})

		t.Run("gets a token by client credentials, shown once", func(t *testing.T) {
			st, _, body := dev.post(appPath+"/token", nil)
			m := secretRE.FindStringSubmatch(body)
			if st != http.StatusOK || m == nil || strings.Count(m[1], ".") != 2 {
				t.Fatalf("%d, no JWT shown", st)
			}
			st, _, body = dev.post(appPath+"/token", url.Values{"scope": {"Not A Scope"}})
			if st != http.StatusBadRequest || !strings.Contains(body, "may not ask for the scope") {
				t.Fatalf("bad scope: %d", st)
			}
		})

		t.Run("rotating the secret shows the new one once", func(t *testing.T) {
			st, _, body := dev.post(appPath+"/secret", nil)
			if m := secretRE.FindStringSubmatch(body); st != http.StatusOK || m == nil || !strings.HasPrefix(m[1], "cs_") {
				t.Fatalf("%d", st)
			}
		})

		t.Run("revokes a key and unsubscribes", func(t *testing.T) {
			_, body := dev.get(appPath)
			k := keyIDRE.FindStringSubmatch(body)
			sub := subIDRE.FindStringSubmatch(body)
			if k == nil || sub == nil {
				t.Fatal("no key or subscription on the page")
			}
			if st, _, _ := dev.post(appPath+"/keys/"+k[1]+"/revoke", nil); st != http.StatusSeeOther {
				t.Fatalf("revoke: %d", st)
			}
			if st, _, _ := dev.post("/portal/default/subscriptions/"+sub[1]+"/delete", nil); st != http.StatusSeeOther {
				t.Fatalf("unsubscribe: %d", st)
			}
			_, body = dev.get(appPath)
			lacks(t, body, k[1], sub[1])
		})

		t.Run("deletes after confirmation", func(t *testing.T) {
			st, body := dev.get(appPath + "/delete")
			if st != http.StatusOK {
				t.Fatalf("%d", st)
			}
			contains(t, body, "Delete shop 2?", "cannot be undone", `action="`+appPath+`/delete"`)
			if st, loc, _ := dev.post(appPath+"/delete", nil); st != http.StatusSeeOther || !strings.HasSuffix(strings.Split(loc, "?")[0], "/applications") {
				t.Fatalf("%d %s", st, loc)
			}
			if st, _ := dev.get(appPath); st != http.StatusNotFound {
				t.Fatalf("after delete: %d", st)
			}
		})

		t.Run("forms without the CSRF token are refused", func(t *testing.T) {
			if st, _, _ := dev.post("/portal/default/applications", url.Values{"name": {"x"}, "csrf_token": {"forged"}}); st != http.StatusForbidden {
				t.Fatalf("%d", st)
			}
		})
		t.Run("visitors are sent to log in", func(t *testing.T) {
			anon := newBrowser(t, s)
			st, _, _ := anon.post("/portal/default/apis/"+w.pets+"/subscribe", url.Values{"tier": {"Bronze"}})
			if st != http.StatusSeeOther {
				t.Fatalf("%d", st)
			}
			resp, err := anon.c.Get(s.URL + "/portal/default/applications")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/portal/login?next=") {
				t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get("Location"))
			}
		})
	})
}

func TestUsagePage(t *testing.T) {
	apptest.Each(t, func(t *testing.T, s *apptest.Server) {
		w := newWorld(t, s)
		dev := newBrowser(t, s)
		dev.signup("alice@example.com", "")
		appID, _ := dev.createApp("default", "shop")
		if st, _, _ := dev.post("/portal/default/apis/"+w.pets+"/subscribe", url.Values{"application_id": {appID}, "tier": {"Bronze"}}); st != http.StatusSeeOther {
			t.Fatalf("subscribe: %d", st)
		}
		for _, period := range []string{"", "7d", "30d", "nonsense"} {
			t.Run("shows calls, errors and the tier's limit per API for period "+period, func(t *testing.T) {
				st, body := dev.get("/portal/default/applications/" + appID + "/usage?period=" + period)
				if st != http.StatusOK {
					t.Fatalf("%d", st)
				}
				contains(t, body, "Usage of shop", "Petstore v1", "Bronze", "1000 requests a minute", "<th scope=\"col\">Calls</th>", "1000 of 1000", "this minute")
			})
		}
	})
}
