package app_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"portico/internal/app/apptest"
	"portico/internal/store"
)

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

func do(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

// TestBrowserFirstVisit walks what a new operator does in a real browser: open the
// portal, log in as the first admin, add a publisher from the admin page (with a
// refused attempt first), and log out.
func TestBrowserFirstVisit(t *testing.T) {
	s := apptest.Start(t, store.SQLite)
	ctx := apptest.Chrome(t)

	do(t, ctx, chromedp.Navigate(s.URL+"/"), chromedp.WaitVisible(chromedp.CSS("h1")))
	if h := text(t, ctx, "h1"); !strings.Contains(h, "Default APIs") {
		t.Fatalf("portal heading %q", h)
	}
	apptest.Screenshot(t, ctx, "1-portal")

	do(t, ctx,
		chromedp.Click(chromedp.CSS(`header a[href="/portal/login"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#f-email`)),
		chromedp.SendKeys(chromedp.CSS(`#f-email`), apptest.AdminEmail),
		chromedp.SendKeys(chromedp.CSS(`#f-password`), apptest.AdminPassword),
		chromedp.Submit(chromedp.CSS(`#f-password`)),
		chromedp.WaitVisible(chromedp.CSS(`table.table`)),
	)
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); !strings.HasSuffix(loc, "/admin") {
		t.Fatalf("after login at %s", loc)
	}

	// A too-short password is refused next to the field, keeping the e-mail.
	do(t, ctx,
		chromedp.SendKeys(chromedp.CSS(`#f-email`), "pub@example.com"),
		chromedp.SendKeys(chromedp.CSS(`#f-password`), "short"),
		chromedp.SetValue(chromedp.CSS(`#f-role`), "publisher"),
		chromedp.Submit(chromedp.CSS(`#f-password`)),
		chromedp.WaitVisible(chromedp.CSS(`.field.has-error .error`)),
	)
	errText := text(t, ctx, `.field.has-error .error`)
	kept, _ := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(`#f-email`)))
	if !strings.Contains(errText, "at least 8") || kept != "pub@example.com" {
		t.Fatalf("refusal shows %q and keeps %q", errText, kept)
	}
	apptest.Screenshot(t, ctx, "2-refused")

	do(t, ctx,
		chromedp.SendKeys(chromedp.CSS(`#f-password`), "long-enough-1"),
		chromedp.SetValue(chromedp.CSS(`#f-role`), "publisher"),
		chromedp.Submit(chromedp.CSS(`#f-password`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
	)
	if flash, table := text(t, ctx, ".flash"), text(t, ctx, "table.table"); !strings.Contains(flash, "pub@example.com as publisher") || !strings.Contains(table, "pub@example.com") {
		t.Fatalf("flash %q, table %q", flash, table)
	}
	apptest.Screenshot(t, ctx, "3-user-added")

	do(t, ctx,
		chromedp.Click(chromedp.CSS(`form[action="/portal/logout"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`header a[href="/portal/login"]`)),
	)
	if link := text(t, ctx, `header a[href="/portal/login"]`); link != "Log in" {
		t.Fatalf("after logout the nav shows %q", link)
	}
}
