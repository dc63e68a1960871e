package portal_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"portico/internal/app/apptest"
)

// TestModeration walks the publisher's side of a manual-approval API.
func TestModeration(t *testing.T) {
	apptest.Each(t, func(t *testing.T, s *apptest.Server) {
		w := newWorld(t, s)
		dev := newBrowser(t, s)
		dev.signup("alice@example.com", "")
		appID, _ := dev.createApp("default", "shop")
		if st, _, _ := dev.post("/portal/default/apis/"+w.manual+"/subscribe", url.Values{"application_id": {appID}, "tier": {"Gold"}}); st != http.StatusSeeOther {
			t.Fatalf("subscribe: %d", st)
		}
		pub := newBrowser(t, s)
		pub.login("pub@example.com", "user-password-1")
		actionRE := regexp.MustCompile(`action="/publisher/subscriptions/([0-9a-f-]+)/(\w+)"`)

		var subID string
		t.Run("the pending subscription waits with approve and reject", func(t *testing.T) {
			st, body := pub.get("/publisher/subscriptions")
			if st != http.StatusOK {
				t.Fatalf("%d", st)
			}
			contains(t, body, "Careful Banking v1", "shop", "alice@example.com", "Gold", ">Approve<", ">Reject<")
			m := actionRE.FindStringSubmatch(body)
			if m == nil {
				t.Fatal("no moderation form")
			}
			subID = m[1]
			_, devPage := dev.get("/portal/default/applications/" + appID)
			contains(t, devPage, "PENDING")
		})
		steps := []struct {
			action, tab, want string
		}{
			{"approve", "PENDING", "ACTIVE"},
			{"block", "ACTIVE", "BLOCKED"},
			{"unblock", "BLOCKED", "ACTIVE"},
		}
		for _, step := range steps {
			t.Run(step.action+" moves it to "+step.want, func(t *testing.T) {
				st, loc, _ := pub.post("/publisher/subscriptions/"+subID+"/"+step.action, url.Values{"status": {step.tab}})
				if st != http.StatusSeeOther || !strings.Contains(loc, "done=") {
					t.Fatalf("%d %s", st, loc)
				}
				_, body := pub.get("/publisher/subscriptions?status=" + step.want)
				contains(t, body, "Careful Banking v1")
				_, devPage := dev.get("/portal/default/applications/" + appID)
				contains(t, devPage, step.want)
			})
		}
		t.Run("refuses an illegal move with a message", func(t *testing.T) {
			st, _, body := pub.post("/publisher/subscriptions/"+subID+"/approve", nil)
			if st != http.StatusConflict || !strings.Contains(body, "cannot be approved") {
				t.Fatalf("%d", st)
			}
		})
		t.Run("refuses an unknown action and status", func(t *testing.T) {
			if st, _, _ := pub.post("/publisher/subscriptions/"+subID+"/delete-everything", nil); st != http.StatusBadRequest {
				t.Fatalf("%d", st)
			}
			if st, _ := pub.get("/publisher/subscriptions?status=ALL"); st != http.StatusBadRequest {
				t.Fatalf("%d", st)
			}
		})
		t.Run("developers cannot moderate", func(t *testing.T) {
			if st, _ := dev.get("/publisher/subscriptions"); st != http.StatusForbidden {
				t.Fatalf("%d", st)
			}
			if st, _, _ := dev.post("/publisher/subscriptions/"+subID+"/block", nil); st != http.StatusForbidden {
				t.Fatalf("%d", st)
			}
		})
		t.Run("another organisation's publisher does not see it", func(t *testing.T) {
			globex := s.NewOrg(t, "globex")
			_ = globex
			other := newBrowser(t, s)
			other.login("admin@globex.example.com", "org-admin-password")
			_, body := other.get("/publisher/subscriptions?status=ACTIVE")
			lacks(t, body, "Careful Banking", "alice@example.com")
			if st, _, _ := other.post("/publisher/subscriptions/"+subID+"/block", nil); st != http.StatusNotFound {
				t.Fatalf("%d", st)
			}
		})
	})
}
