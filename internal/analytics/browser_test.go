package analytics_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"portico/internal/app/apptest"
	"portico/internal/platform/metering"
)

// TestDashboardInChromium logs in as the admin and checks the dashboard draws
// the numbers and charts of calls recorded through the app's meter.
func TestDashboardInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	s := apptest.Start(t, "sqlite")
	admin := s.AdminToken(t)
	dev := s.NewUser(t, admin, "dev@example.com", "developer")
	org := orgOf(t, s, admin)
	app := newApp(t, s, dev, "mobile")
	now := time.Now().UTC()
	for i := 0; i < 40; i++ {
		status := 200
		if i%8 == 0 {
			status = 502
		}
		s.App.Meter().Record(metering.Event{Time: now.Add(-time.Duration(i) * time.Minute), APIID: "api-a", Operation: "GET /pets",
			ApplicationID: app, OrgID: org, Status: status, Latency: time.Duration(5+i) * time.Millisecond})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.App.AnalyticsSink().Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if r := s.Do(t, http.MethodPost, "/api/v1/alerts", admin, `{"metric":"error_rate","threshold":0.1}`); r.Status != http.StatusCreated {
		t.Fatalf("alert rule: %d %s", r.Status, r.Body)
	}

	cx := apptest.Chrome(t)
	textIs := func(sel, want string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			deadline := time.Now().Add(10 * time.Second)
			got := ""
			for time.Now().Before(deadline) {
				v, err := chromedp.Evaluate[string](fmt.Sprintf(`(document.querySelector(%q) || {}).textContent || ""`, sel))(ctx, tg)
				if err == nil && v == want {
					return nil
				}
				got = v
				time.Sleep(100 * time.Millisecond)
			}
			return fmt.Errorf("%s reads %q, want %q", sel, got, want)
		})
	}
	err := chromedp.Do(cx,
		chromedp.Navigate(s.URL+"/portal/login?next=/publisher/analytics"),
		chromedp.SendKeys(chromedp.CSS("#f-email"), apptest.AdminEmail),
		chromedp.SendKeys(chromedp.CSS("#f-password"), apptest.AdminPassword),
		chromedp.Submit(chromedp.CSS("#f-password")),
		chromedp.WaitVisible(chromedp.CSS("#an-traffic")),
		textIs("#an-requests", "40"),
		textIs("#an-top-apps tbody td", "mobile"),
		textIs("#an-errors-table tbody td", "502"),
		chromedp.WaitVisible(chromedp.CSS("#an-traffic canvas")),
		chromedp.WaitVisible(chromedp.CSS("#an-latency canvas")),
		textIs("#an-alerts tbody td:nth-child(3)", "ok"),
	)
	if err != nil {
		html, _ := chromedp.Run(cx, chromedp.OuterHTML(chromedp.CSS("main")))
		t.Fatalf("dashboard: %v\n%.2000s", err, html)
	}
	apptest.Screenshot(t, cx, "dashboard")

	t.Run("a developer is refused the publisher's dashboard", func(t *testing.T) {
		r := s.Do(t, http.MethodGet, "/publisher/analytics", dev, nil)
		if r.Status == http.StatusOK {
			t.Fatal("a developer's token reached the dashboard")
		}
	})
}
