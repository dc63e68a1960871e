package portal_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"

	"portico/internal/app/apptest"
	"portico/internal/store"
)

func do(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

func text(t *testing.T, ctx context.Context, css string) string {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(css)))
	if err != nil {
		t.Fatalf("text of %s: %v", css, err)
	}
	return v
}

// TestPortalInChromium is the "done when", tried as a new developer
// would in headless Chromium: sign up, find an API by search, read its
// reference, create an application, subscribe on Bronze, create a key and copy
// it, and make a successful call through the gateway from the try-it console.
func TestPortalInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	pets := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"pets": []string{"Rex", "Tom"}, "path": r.URL.Path, "limit": r.URL.Query().Get("limit")})
	}))
	defer pets.Close()

	s := apptest.Start(t, store.SQLite)
	admin := s.AdminToken(t)
	pub := s.NewUser(t, admin, "pub@example.com", "publisher")
	spec, err := os.ReadFile("testdata/petstore.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r := s.Do(t, "POST", "/api/v1/apis/import", pub, map[string]any{"spec": string(spec), "context": "pets", "backend_url": pets.URL, "tiers": []string{"Bronze", "Gold"}})
	if r.Status != http.StatusCreated {
		t.Fatalf("import: %d %s", r.Status, r.Body)
	}
	var api struct{ ID string }
	r.JSON(t, &api)
	if r := s.Do(t, "POST", "/api/v1/apis/"+api.ID+"/lifecycle", pub, map[string]string{"action": "publish"}); r.Status != 200 {
		t.Fatalf("publish: %d %s", r.Status, r.Body)
	}

	ctx := apptest.Chrome(t)
	origin := strings.TrimSuffix(s.URL, "/")
	do(t, ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		for _, name := range []string{"clipboard-read", "clipboard-write"} {
			if _, err := cdp.Call(ctx, tg, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
				Permission: &cdpbrowser.PermissionDescriptor{Name: name}, Setting: "granted", Origin: origin}); err != nil {
				return err
			}
		}
		return nil
	}))

	// Sign up from the portal's top bar.
	do(t, ctx,
		chromedp.Navigate(s.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(`header a[href^="/portal/signup"]`)),
		chromedp.Click(chromedp.CSS(`header a[href^="/portal/signup"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#f-email`)),
		chromedp.SendKeys(chromedp.CSS(`#f-email`), "newdev@example.com"),
		chromedp.SendKeys(chromedp.CSS(`#f-password`), "long-enough-1"),
		chromedp.Submit(chromedp.CSS(`#f-password`)),
		chromedp.WaitVisible(chromedp.CSS(`#q`)),
	)
	if who := text(t, ctx, "header .who"); who != "newdev@example.com" {
		t.Fatalf("signed in as %q", who)
	}

	// Find the API by searching for one of its operations.
	do(t, ctx,
		chromedp.SendKeys(chromedp.CSS(`#q`), "find a pet"),
		chromedp.Submit(chromedp.CSS(`#q`)),
		chromedp.WaitVisible(chromedp.CSS(`.api-card h3 a`)),
	)
	if cards := text(t, ctx, ".api-cards"); !strings.Contains(cards, "Petstore") {
		t.Fatalf("search found %q", cards)
	}
	apptest.Screenshot(t, ctx, "1-search")

	// Read the reference.
	do(t, ctx,
		chromedp.Click(chromedp.CSS(`.api-card h3 a`)),
		chromedp.WaitVisible(chromedp.CSS(`#op-get-pets-petid`)),
	)
	if ref := text(t, ctx, "#reference"); !strings.Contains(ref, "Find a pet by id") || !strings.Contains(ref, "petId") {
		t.Fatalf("reference: %q", ref)
	}
	apiURL, _ := chromedp.Run(ctx, chromedp.Location())
	apptest.Screenshot(t, ctx, "2-reference")

	// Create an application: its secret is shown once.
	do(t, ctx,
		chromedp.Click(chromedp.CSS(`header a[href$="/applications"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#f-name`)),
		chromedp.SendKeys(chromedp.CSS(`#f-name`), "My shop"),
		chromedp.Submit(chromedp.CSS(`#f-name`)),
		chromedp.WaitVisible(chromedp.CSS(`#secret-value`)),
	)
	if secret := text(t, ctx, "#secret-value"); !strings.HasPrefix(secret, "cs_") {
		t.Fatalf("secret %q", secret)
	}
	apptest.Screenshot(t, ctx, "3-application")

	// Subscribe on Bronze from the API page.
	do(t, ctx,
		chromedp.Navigate(apiURL+"#subscribe"),
		chromedp.WaitVisible(chromedp.CSS(`#f-application_id`)),
		chromedp.Click(chromedp.CSS(`input[name="tier"][value="Bronze"]`)),
		chromedp.Submit(chromedp.CSS(`#f-application_id`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
	)
	if flash, subs := text(t, ctx, ".flash"), text(t, ctx, "table.subs"); !strings.Contains(flash, "Subscribed on Bronze") || !strings.Contains(subs, "ACTIVE") {
		t.Fatalf("flash %q, subscriptions %q", flash, subs)
	}

	// Create a key and copy it.
	do(t, ctx,
		chromedp.SendKeys(chromedp.CSS(`#f-key_name`), "browser"),
		chromedp.Submit(chromedp.CSS(`#f-key_name`)),
		chromedp.WaitVisible(chromedp.CSS(`#secret-value`)),
		chromedp.WaitReady(chromedp.CSS(`html[data-portal="ready"]`)),
		chromedp.Click(chromedp.CSS(`button[data-copy="#secret-value"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.copied`)),
	)

	key := text(t, ctx, "#secret-value")
	if !strings.HasPrefix(key, "pk_") || text(t, ctx, ".copied") != "Copied" {
		t.Fatalf("key %q, copy said %q", key, text(t, ctx, ".copied"))
	}
	copied, err := chromedp.Run(ctx, chromedp.Evaluate[string](`navigator.clipboard.readText()`, chromedp.EvalAwaitPromise))
	if err != nil || copied != key {
		t.Fatalf("clipboard holds %q (%v), want the key", copied, err)
	}
	apptest.Screenshot(t, ctx, "4-key")

	// The gateway takes the new key within a second; wait for it before trying.
	deadline := time.Now().Add(10 * time.Second)
	for {
		req, _ := http.NewRequest("GET", s.URL+"/pets/v1/pets", nil)
		req.Header.Set("apikey", key)
		resp := s.Send(t, req)
		if resp.Status == http.StatusOK {
			break
		}
		if resp.ErrorCode() == "api_not_found" {
			t.Fatal("the gateway does not serve the published API")
		}
		if time.Now().After(deadline) {
			t.Fatalf("gateway still answers %d %s", resp.Status, resp.Body)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// Call it from the try-it console, typing the key in.
	do(t, ctx,
		chromedp.Navigate(apiURL+"#try"),
		chromedp.WaitVisible(chromedp.CSS(`#try-op`)),
		chromedp.Click(chromedp.CSS(`#op-get-pets-h a[data-try]`)),
		chromedp.WaitVisible(chromedp.CSS(`#try-p-0`)),
		chromedp.SendKeys(chromedp.CSS(`#try-cred`), key),
		chromedp.Click(chromedp.CSS(`#try-send`)),
		chromedp.WaitVisible(chromedp.CSS(`#try-status`)),
	)
	status, body := text(t, ctx, "#try-status"), text(t, ctx, "#try-response")
	if status != "200" || !strings.Contains(body, `"Rex"`) || !strings.Contains(body, `"limit": "10"`) {
		t.Fatalf("try-it answered %s: %s", status, body)
	}
	headers, _ := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS("#try-headers")))
	if !strings.Contains(strings.ToLower(headers), "ratelimit-limit") {
		t.Errorf("response headers lack the rate limit: %q", headers)
	}
	apptest.Screenshot(t, ctx, "5-try-it")
}
