package portal_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"portico/internal/app/apptest"
)

func TestCatalogue(t *testing.T) {
	apptest.Each(t, func(t *testing.T, s *apptest.Server) {
		newWorld(t, s)
		globex := s.NewOrg(t, "globex")
		r := s.Do(t, "POST", "/api/v1/apis", globex, map[string]any{"name": "Globex Rockets", "context": "rockets", "version": "v1", "backend_url": "http://127.0.0.1:9/x"})
		var rocket struct{ ID string }
		r.JSON(t, &rocket)
		if r := s.Do(t, "POST", "/api/v1/apis/"+rocket.ID+"/lifecycle", globex, map[string]string{"action": "publish"}); r.Status != 200 {
			t.Fatalf("publish: %d %s", r.Status, r.Body)
		}
		anon := newBrowser(t, s)

		t.Run("visitors see published, prototyped and deprecated public APIs only", func(t *testing.T) {
			for _, path := range []string{"/", "/portal", "/portal/default"} {
				st, body := anon.get(path)
				if st != http.StatusOK {
					t.Fatalf("%s: %d", path, st)
				}
				contains(t, body, "Default APIs", "Petstore", "Proto Gadgets", "Old Weather", "Careful Banking", "PROTOTYPED", "DEPRECATED")
				lacks(t, body, "Draft Widgets", "Gone Maps", "Internal Payroll", "Globex Rockets")
			}
		})
		t.Run("members also see private APIs", func(t *testing.T) {
			dev := newBrowser(t, s)
			dev.signup("dev@example.com", "")
			_, body := dev.get("/portal/default")
			contains(t, body, "Internal Payroll", "Petstore")
			lacks(t, body, "Draft Widgets", "Globex Rockets")
		})
		t.Run("each organisation has its own portal", func(t *testing.T) {
			_, body := anon.get("/portal/globex")
			contains(t, body, "Globex APIs", "Globex Rockets")
			lacks(t, body, "Petstore")
		})

		search := []struct {
			name, query string
			want        []string
			not         []string
		}{
			{"by name", "q=petst", []string{"Petstore"}, []string{"Old Weather", "Careful Banking"}},
			{"by description", "q=the+old+way", []string{"Old Weather"}, []string{"Petstore"}},
			{"by tag", "q=animals", []string{"Petstore"}, []string{"Old Weather"}},
			{"by operation path", "q=%2Fpets%2F%7BpetId%7D", []string{"Petstore"}, []string{"Careful Banking"}},
			{"by operation summary", "q=find+a+pet", []string{"Petstore"}, []string{"Careful Banking"}},
			{"by tag filter", "tag=finance", []string{"Careful Banking"}, []string{"Petstore", "Old Weather"}},
			{"by search and tag", "q=weather&tag=weather", []string{"Old Weather"}, []string{"Petstore"}},
			{"a tag that only appears in text does not match the filter", "tag=old", nil, []string{"Old Weather", "Petstore"}},
			{"not finding private APIs for visitors", "q=payroll", nil, []string{"Internal Payroll"}},
			{"with LIKE wildcards taken literally", "q=%25", nil, []string{"Petstore", "Old Weather"}},
		}
		for _, tc := range search {
			t.Run("searches "+tc.name, func(t *testing.T) {
				st, body := anon.get("/portal/default?" + tc.query)
				if st != http.StatusOK {
					t.Fatalf("%d", st)
				}
				contains(t, body, tc.want...)
				lacks(t, body, tc.not...)
				if len(tc.want) == 0 {
					contains(t, body, "No API matches")
				}
			})
		}

		t.Run("pages through the catalogue with cursors", func(t *testing.T) {
			seen := map[string]bool{}
			next := "/portal/default?limit=2"
			pages := 0
			linkRE := regexp.MustCompile(`href="(/portal/default\?[^"]*cursor=[^"]*)" rel="next"`)
			cardRE := regexp.MustCompile(`<h3><a href="/portal/default/apis/([^"]+)">`)
			for next != "" {
				st, body := anon.get(next)
				if st != 200 {
					t.Fatalf("%s: %d", next, st)
				}
				pages++
				cards := cardRE.FindAllStringSubmatch(body, -1)
				if len(cards) > 2 {
					t.Fatalf("page of %d", len(cards))
				}
				for _, c := range cards {
					if seen[c[1]] {
						t.Fatalf("API %s on two pages", c[1])
					}
					seen[c[1]] = true
				}
				next = ""
				if m := linkRE.FindStringSubmatch(body); m != nil {
					next = strings.ReplaceAll(m[1], "&amp;", "&")
				}
			}
			if len(seen) != 4 || pages != 2 {
				t.Fatalf("%d APIs on %d pages, want 4 on 2", len(seen), pages)
			}
		})

		bad := []struct{ name, path string }{
			{"a cursor it never gave", "/portal/default?cursor=!!!"},
			{"a page size out of range", "/portal/default?limit=100000"},
			{"an absurd tag", "/portal/default?tag=" + strings.Repeat("x", 100)},
		}
		for _, tc := range bad {
			t.Run("refuses "+tc.name, func(t *testing.T) {
				if st, _ := anon.get(tc.path); st != http.StatusBadRequest {
					t.Fatalf("%d", st)
				}
			})
		}
		t.Run("an unknown organisation is not found", func(t *testing.T) {
			if st, _ := anon.get("/portal/nobody"); st != http.StatusNotFound {
				t.Fatalf("%d", st)
			}
		})
	})
}
