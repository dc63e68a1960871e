package portal_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"portico/internal/app/apptest"
)

// TestTenants: a developer never sees, through the portal, another
// organisation's or another developer's applications, keys or subscriptions.
func TestTenants(t *testing.T) {
	apptest.Each(t, func(t *testing.T, s *apptest.Server) {
		w := newWorld(t, s)
		s.NewOrg(t, "globex")
		alice := newBrowser(t, s)
		alice.signup("alice@example.com", "")
		appID, _ := alice.createApp("default", "alice-shop")
		appPath := "/portal/default/applications/" + appID
		st, _, body := alice.post(appPath+"/keys", url.Values{"key_name": {"alice-key"}})
		if st != http.StatusCreated {
			t.Fatalf("key: %d", st)
		}
		keyID := keyIDRE.FindStringSubmatch(body)[1]
		if st, _, _ := alice.post("/portal/default/apis/"+w.pets+"/subscribe", url.Values{"application_id": {appID}, "tier": {"Bronze"}}); st != http.StatusSeeOther {
			t.Fatalf("subscribe: %d", st)
		}
		_, body = alice.get(appPath)
		subID := subIDRE.FindStringSubmatch(body)[1]

		bob := newBrowser(t, s)
		bob.signup("bob@example.com", "")
		mallory := newBrowser(t, s)
		mallory.signup("mallory@globex.example.com", "globex")

		for _, who := range []struct {
			name string
			b    *browser
		}{{"another developer", bob}, {"a developer of another organisation", mallory}} {
			b := who.b
			t.Run(who.name+" does not see the application", func(t *testing.T) {
				for _, p := range []string{appPath, appPath + "/usage", appPath + "/delete"} {
					if st, _ := b.get(p); st != http.StatusNotFound {
						t.Fatalf("GET %s: %d", p, st)
					}
				}
				_, list := b.get("/portal/default/applications")
				lacks(t, list, "alice-shop", appID)
				_, api := b.get("/portal/default/apis/" + w.pets)
				lacks(t, api, "alice-shop", appID)
			})
			t.Run(who.name+" cannot change it, its keys or its subscriptions", func(t *testing.T) {
				b.get("/portal/default")
				posts := []struct {
					path string
					form url.Values
				}{
					{appPath, url.Values{"name": {"stolen"}}},
					{appPath + "/delete", nil},
					{appPath + "/secret", nil},
					{appPath + "/token", nil},
					{appPath + "/keys", url.Values{"key_name": {"mine"}}},
					{appPath + "/keys/" + keyID + "/revoke", nil},
					{"/portal/default/subscriptions/" + subID + "/delete", nil},
					{"/portal/default/apis/" + w.pets + "/subscribe", url.Values{"application_id": {appID}, "tier": {"Gold"}}},
				}
				for _, p := range posts {
					st, _, body := b.post(p.path, p.form)
					if st != http.StatusNotFound {
						t.Fatalf("POST %s: %d", p.path, st)
					}
					lacks(t, body, "cs_", "pk_")
				}
			})
		}
		t.Run("a developer of another organisation is sent to their own applications", func(t *testing.T) {
			resp, err := mallory.c.Get(s.URL + "/portal/default/applications")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/portal/globex/applications" {
				t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get("Location"))
			}
		})
		t.Run("nothing of alice's changed", func(t *testing.T) {
			_, body := alice.get(appPath)
			contains(t, body, "<h1>alice-shop</h1>", keyID, subID, "alice-key")
			if strings.Contains(body, "stolen") {
				t.Fatal("renamed")
			}
		})
	})
}
