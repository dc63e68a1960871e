package publisher_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"portico/internal/app/apptest"
)

func artifactsDir(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("TEST_ARTIFACTS_DIR"); d != "" {
		dir := filepath.Join(d, "publisher")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	return t.TempDir()
}

// TestPublisherInChromium is the "done when": a new user logs in,
// imports the Petstore, edits an operation, adds a document, prototypes,
// publishes, makes v2 and deprecates v1, in headless Chromium.
func TestPublisherInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	s := apptest.Start(t, "sqlite")
	spec, err := os.ReadFile("../catalog/testdata/petstore.yaml")
	if err != nil {
		t.Fatal(err)
	}
	shots := artifactsDir(t)

	ctx := apptest.Chrome(t)

	n := 0
	shot := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			// Screenshots are artefacts: one that does not come in time is logged.
			sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			defer cancel()
			buf, err := chromedp.FullScreenshot(100)(sctx, tg) // quality 100 means PNG
			if err != nil {
				t.Logf("screenshot %s not taken: %v", name, err)
				return nil
			}
			n++
			return os.WriteFile(filepath.Join(shots, strings.ReplaceAll(name, " ", "-")+".png"), buf, 0o644)
		})
	}
	run := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("main")))
			t.Fatalf("%s: %v\npage: %.1500s", step, err, html)
		}
	}
	// stateIs waits for the API page to show a state. Form posts navigate, and
	// an evaluation racing the navigation loses its context: keep asking.
	stateIs := func(want string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			deadline := time.Now().Add(10 * time.Second)
			got := ""
			for time.Now().Before(deadline) {
				v, err := chromedp.Evaluate[string](`(document.getElementById("api-state") || {}).textContent || ""`)(ctx, tg)
				if err == nil && v == want {
					return nil
				}
				got = v
				time.Sleep(100 * time.Millisecond)
			}
			return fmt.Errorf("state is %q, want %q", got, want)
		})
	}

	run("log in",
		chromedp.Navigate(s.URL+"/portal/login?next=/publisher"),
		chromedp.SendKeys(chromedp.CSS("#f-email"), apptest.AdminEmail),
		chromedp.SendKeys(chromedp.CSS("#f-password"), apptest.AdminPassword),
		shot("01 login"),
		chromedp.Submit(chromedp.CSS("#f-password")),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/publisher/apis/import"]`)),
		shot("02 api list"),
	)
	run("import the Petstore",
		chromedp.Click(chromedp.CSS(`a[href="/publisher/apis/import"]`)),
		chromedp.WaitVisible(chromedp.CSS("#f-spec")),
		chromedp.SendKeys(chromedp.CSS("#f-context"), "petstore"),
		chromedp.SetValue(chromedp.CSS("#f-spec"), string(spec)),
		shot("03 import form"),
		chromedp.Submit(chromedp.CSS("#f-spec")),
		stateIs("CREATED"),
		shot("04 imported"),
	)
	v1URL, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	v1URL = strings.SplitN(v1URL, "?", 2)[0]

	run("edit an operation",
		chromedp.Click(chromedp.CSS(`nav.tabs a[href$="/operations"]`)),
		chromedp.WaitVisible(chromedp.CSS(`table.ops form.op-row input[name="summary"]`)),
		chromedp.SetValue(chromedp.CSS(`table.ops tbody tr:first-child input[name="summary"]`), "Add a pet (edited in Chromium)"),
		chromedp.SetValue(chromedp.CSS(`table.ops tbody tr:first-child input[name="limit_requests"]`), "50"),
		chromedp.Click(chromedp.CSS(`table.ops tbody tr:first-child button.button.small:not(.danger)`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
		chromedp.WaitVisible(chromedp.CSS(`input[value="Add a pet (edited in Chromium)"]`)),
		shot("05 operation edited"),
	)
	run("add a document with a preview",
		chromedp.Click(chromedp.CSS(`nav.tabs a[href$="/documents"]`)),
		chromedp.WaitVisible(chromedp.CSS("#f-title")),
		chromedp.SendKeys(chromedp.CSS("#f-title"), "Getting started"),
		chromedp.SetValue(chromedp.CSS("#f-body"), "# Getting started\n\nCall `GET /pet/findByStatus` with an **API key**.\n\n<script>alert('x')</script>"),
		chromedp.Click(chromedp.CSS(`button[name="preview"]`)),
		chromedp.WaitVisible(chromedp.CSS("#preview strong")),
		shot("06 document preview"),
		chromedp.Click(chromedp.CSS(`#f-body ~ button.primary, form button.button.primary`)),
		chromedp.WaitVisible(chromedp.CSS(`article.doc h2`)),
		shot("07 document saved"),
	)
	run("prototype, then publish",
		chromedp.Navigate(v1URL),
		chromedp.Click(chromedp.CSS(`button[data-action="prototype"]`)),
		stateIs("PROTOTYPED"),
		shot("08 prototyped"),
		chromedp.Click(chromedp.CSS(`button[data-action="publish"]`)),
		stateIs("PUBLISHED"),
		shot("09 published"),
	)
	run("make v2 and publish it",
		chromedp.SendKeys(chromedp.CSS("#f-version"), "2.0.0"),
		chromedp.Submit(chromedp.CSS("#f-version")),
		stateIs("CREATED"),
		chromedp.WaitVisible(`//h1[contains(., "2.0.0")]`),
		shot("10 v2 created"),
		chromedp.Click(chromedp.CSS(`button[data-action="publish"]`)),
		stateIs("PUBLISHED"),
		shot("11 v2 published"),
	)
	run("deprecate v1",
		chromedp.Click(`//table//a[text()="1.0.0"]`),
		stateIs("PUBLISHED"),
		chromedp.Click(chromedp.CSS(`button[data-action="deprecate"]`)),
		stateIs("DEPRECATED"),
		shot("12 v1 deprecated"),
	)

	// What the browser did is what the API sees.
	tok := s.AdminToken(t)
	var l struct {
		Items []struct{ ID, Version, State string }
	}
	s.Do(t, http.MethodGet, "/api/v1/apis?q=petstore", tok, nil).JSON(t, &l)
	states := map[string]string{}
	for _, a := range l.Items {
		states[a.Version] = a.State
	}
	if states["1.0.0"] != "DEPRECATED" || states["2.0.0"] != "PUBLISHED" {
		t.Fatalf("states %v", states)
	}
	id := strings.TrimPrefix(v1URL, s.URL+"/publisher/apis/")
	var ops struct {
		Items []struct {
			Summary string
			Limit   *struct{ Requests int }
		}
	}
	s.Do(t, http.MethodGet, "/api/v1/apis/"+id+"/operations", tok, nil).JSON(t, &ops)
	if ops.Items[0].Summary != "Add a pet (edited in Chromium)" || ops.Items[0].Limit == nil || ops.Items[0].Limit.Requests != 50 {
		t.Fatalf("operation %+v", ops.Items[0])
	}
	var docs struct {
		Items []struct{ Title, HTML string }
	}
	s.Do(t, http.MethodGet, "/api/v1/apis/"+id+"/documents", tok, nil).JSON(t, &docs)
	if len(docs.Items) != 1 || strings.Contains(docs.Items[0].HTML, "<script") {
		t.Fatalf("documents %+v", docs.Items)
	}
	t.Logf("%d screenshots in %s", n, shots)
}
