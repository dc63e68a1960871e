package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"portico/internal/app/apptest"
)

// xss is a payload that, if it ever runs, sets window.__xss to n and opens
// an alert; and if it ever becomes markup, leaves an element with a data-xss
// attribute, so an injection shows even where the CSP stops the script.
func xss(n int) string {
	return fmt.Sprintf(`<img data-xss src=x onerror=__xss=%d;alert(%d)>`, n, n)
}

// xssScript is the same as a script element breaking out of an attribute.
func xssScript(n int) string {
	return fmt.Sprintf(`"><script data-xss>__xss=%d;alert(%d)</script>`, n, n)
}

// xssMarkdown is a document that tries every trick a Markdown sanitiser must
// refuse: raw script, event handlers, javascript: and data: links, iframes,
// SVG, forms, a reference-style link, and mutation-XSS nesting.
const xssMarkdown = "# Guide <img data-xss src=x onerror=__xss=20>\n\n" +
	"<script data-xss>__xss=21</script>\n\n" +
	"[click me](javascript:__xss=22) and [data](data:text/html;base64,PHNjcmlwdD5fX3hzcz0yMzwvc2NyaXB0Pg==)\n\n" +
	"<a href=\"javascript:__xss=24\" data-xss>raw link</a> <a href=\"JaVaScRiPt&colon;__xss=24\">encoded</a>\n\n" +
	"<iframe data-xss src=\"javascript:parent.__xss=25\"></iframe>\n\n" +
	"<div style=\"background:url(javascript:__xss=26)\" onmouseover=\"__xss=27\">hover</div>\n\n" +
	"<svg data-xss><script>__xss=28</script></svg>\n\n" +
	"<form action=\"javascript:__xss=29\"><button>go</button></form>\n\n" +
	"<math><mtext><table><mglyph><style><img data-xss src=x onerror=__xss=30>\n\n" +
	"[ref link][r]\n\n[r]: javascript:__xss=31\n\n" +
	"![pic](x\" onerror=\"__xss=32)\n\n" +
	"<object data-xss data=\"javascript:__xss=33\"></object><embed data-xss src=\"javascript:__xss=34\">\n\n" +
	"```html\n<script>__xss=35</script>\n```\n"

// xssSpec is an OpenAPI document with payloads wherever the portal shows
// spec text: title, description, summaries, parameter descriptions, examples.
var xssSpec = `openapi: 3.0.3
info:
  title: 'Spec ` + strings.ReplaceAll(xss(40), "'", "''") + `'
  version: v1
  description: |
    Spec description ` + xss(41) + `
    <script data-xss>__xss=42</script> [x](javascript:__xss=43)
paths:
  /items/{id}:
    get:
      summary: 'Get ` + strings.ReplaceAll(xss(44), "'", "''") + `'
      description: 'Op ` + strings.ReplaceAll(xssScript(45), "'", "''") + `'
      parameters:
        - name: id
          in: path
          required: true
          description: 'Id ` + strings.ReplaceAll(xss(46), "'", "''") + `'
          schema: {type: string, example: '` + strings.ReplaceAll(xssScript(47), "'", "''") + `'}
        - name: q
          in: query
          description: '</script><script data-xss>__xss=48</script>'
          schema: {type: string, enum: ['` + strings.ReplaceAll(xss(49), "'", "''") + `']}
      responses:
        '200':
          description: 'OK ` + strings.ReplaceAll(xss(50), "'", "''") + `'
          content:
            application/json:
              example: {name: '` + strings.ReplaceAll(xssScript(51), "'", "''") + `'}
`

// pageCheck is what a page shows of an attack.
type pageCheck struct {
	XSS      any    `json:"xss"`
	Marked   int    `json:"marked"`
	Handlers int    `json:"handlers"`
	JSURLs   int    `json:"js_urls"`
	Scripts  int    `json:"scripts"`
	Shown    bool   `json:"shown"`
	Sample   string `json:"sample"`
}

const pageCheckJS = `JSON.stringify({
  xss: window.__xss || 0,
  marked: document.querySelectorAll('[data-xss]').length,
  handlers: [...document.querySelectorAll('*')].filter(e => [...e.attributes].some(a => /^on/i.test(a.name))).length,
  js_urls: [...document.querySelectorAll('[href],[src],[action],[formaction],[data]')].filter(e =>
    ['href','src','action','formaction','data'].some(n => /^\s*(javascript|vbscript|data:text\/html)/i.test((e.getAttribute(n)||'').replace(/[\s\x00-\x1f]/g,'')))).length,
  scripts: [...document.scripts].filter(s => ['', 'text/javascript', 'module', 'application/javascript'].includes(s.type.toLowerCase())).filter(s => !s.src || new URL(s.src).origin !== location.origin || !new URL(s.src).pathname.startsWith('/static/')).length,
  shown: document.body.innerText.includes('__xss='),
  sample: ([...document.querySelectorAll('[data-xss]')].map(e => e.outerHTML).join(' ') || '').slice(0, 300)
})`

// TestNoScriptRunsFromUserInput stores script payloads in everything a user
// can type that a page shows (API name, description, tags, operation
// summaries, Markdown documents, an imported spec, application and key names,
// the organisation's name, search queries, refused form input, error pages),
// then opens every page that shows them in headless Chromium: no script runs,
// no dialog opens, no payload becomes markup, and each page carries the CSP.
func TestNoScriptRunsFromUserInput(t *testing.T) {
	apptest.Each(t, func(t *testing.T, s *apptest.Server) {
		admin := s.AdminToken(t)
		pub := s.NewUser(t, admin, "pub@example.com", "publisher")
		s.NewUser(t, admin, "dev@example.com", "developer")
		dev := s.Token(t, "dev@example.com", "user-password-1")

		api := mustCreate(t, s, pub, "/api/v1/apis", map[string]any{"name": "A " + xss(1) + xssScript(2), "context": "xss", "version": "v1",
			"backend_url": "http://127.0.0.1:9/", "description": "Desc " + xss(3) + xssScript(4) + " ';__xss=5;// </script><script data-xss>__xss=6</script>",
			"tags": []string{"<svg data-xss onload=__xss=7>", `"><b data-xss>8</b>`}, "tiers": []string{"Bronze", "Gold"}, "approval": "manual"})
		mustCreate(t, s, pub, "/api/v1/apis/"+api+"/operations", map[string]any{"method": "GET", "path": "/things", "summary": "S " + xss(9) + xssScript(10)})
		mustCreate(t, s, pub, "/api/v1/apis/"+api+"/documents", map[string]any{"title": "T " + xss(11), "body": xssMarkdown})
		mustCreate(t, s, pub, "/api/v1/apis/"+api+"/lifecycle", map[string]string{"action": "publish"})
		spec := mustCreate(t, s, pub, "/api/v1/apis/import", map[string]any{"spec": xssSpec, "context": "xss-spec", "backend_url": "http://127.0.0.1:9/"})
		mustCreate(t, s, pub, "/api/v1/apis/"+spec+"/lifecycle", map[string]string{"action": "publish"})
		app := mustCreate(t, s, dev, "/api/v1/applications", map[string]any{"name": "App " + xss(60), "description": "D " + xssScript(61),
			"callback_urls": []string{"https://cb.example.com/x"}})
		mustCreate(t, s, dev, "/api/v1/applications/"+app+"/keys", map[string]any{"name": "K " + xss(62)})
		mustCreate(t, s, dev, "/api/v1/subscriptions", map[string]any{"application_id": app, "api_id": api, "tier": "Gold"})
		mustCreate(t, s, dev, "/api/v1/subscriptions", map[string]any{"application_id": app, "api_id": spec, "tier": "Unlimited"})
		if r := s.Do(t, "POST", "/api/v1/tiers", pub, map[string]any{"name": "Tier" + xss(70), "requests": 5, "per": "second", "description": xssScript(71)}); r.Status >= 500 {
			t.Fatalf("tier: %d %s", r.Status, r.Body)
		}
		// The organisation's name, through the admin's branding form.
		b := login(t, s, apptest.AdminEmail, apptest.AdminPassword)
		if resp, body := postForm(t, b.c, s.URL+"/admin/branding", url.Values{"csrf_token": {b.csrf}, "name": {"Org " + xss(80)}}); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("branding: %d %.300s", resp.StatusCode, body)
		}

		ctx := apptest.Chrome(t)
		var mu sync.Mutex
		var dialogs []string
		if err := chromedp.Listen(ctx, func(ev any) {
			if d, ok := ev.(*page.EventJavascriptDialogOpening); ok {
				mu.Lock()
				dialogs = append(dialogs, d.Message)
				mu.Unlock()
				go chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false}) //nolint:errcheck // best effort: the test fails anyway
			}
		}); err != nil {
			t.Fatal(err)
		}

		shown := 0
		visit := func(t *testing.T, who, path string) {
			t.Helper()
			resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(s.URL+path))
			if err != nil {
				t.Fatalf("%s %s: %v", who, path, err)
			}
			// Give an image's onerror or a late script the chance to run.
			if err := chromedp.Do(ctx, chromedp.WaitReady(chromedp.CSS("body")), chromedp.Sleep(150*time.Millisecond)); err != nil {
				t.Fatalf("%s %s: %v", who, path, err)
			}
			raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](pageCheckJS))
			if err != nil {
				t.Fatalf("%s %s: %v", who, path, err)
			}
			var pc pageCheck
			if err := json.Unmarshal([]byte(raw), &pc); err != nil {
				t.Fatal(err)
			}
			if pc.XSS != float64(0) || pc.Marked > 0 || pc.Handlers > 0 || pc.JSURLs > 0 || pc.Scripts > 0 {
				t.Errorf("%s %s (%d): script ran or markup injected: %+v", who, path, resp.Status, pc)
			}
			if pc.Shown {
				shown++
			}
			csp := ""
			for k, v := range resp.Headers {
				if strings.EqualFold(k, "Content-Security-Policy") {
					csp = fmt.Sprint(v)
				}
			}
			if !strings.Contains(csp, "default-src 'self'") || strings.Contains(csp, "script-src") && strings.Contains(csp, "unsafe-inline") {
				t.Errorf("%s %s (%d): CSP %q", who, path, resp.Status, csp)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(dialogs) > 0 {
				t.Errorf("%s %s: a dialog opened: %q", who, path, dialogs)
				dialogs = nil
			}
		}
		q := url.QueryEscape(xssScript(90) + xss(91) + "';__xss=92;//")

		t.Run("the check sees an injection", func(t *testing.T) {
			// The control: a page that does echo the payloads raw, with no CSP.
			raw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				fmt.Fprint(w, "<!doctype html><body>"+xss(99)+"</body>")
			}))
			defer raw.Close()
			do(t, ctx, chromedp.Navigate(raw.URL), chromedp.Sleep(300*time.Millisecond))
			out, err := chromedp.Run(ctx, chromedp.Evaluate[string](pageCheckJS))
			if err != nil {
				t.Fatal(err)
			}
			var pc pageCheck
			_ = json.Unmarshal([]byte(out), &pc)
			mu.Lock()
			seen := len(dialogs)
			dialogs = nil
			mu.Unlock()
			if pc.XSS != float64(99) || pc.Marked != 1 || pc.Handlers != 1 || seen != 1 {
				t.Fatalf("the check missed an injection: %+v, %d dialogs", pc, seen)
			}
		})

		t.Run("anonymous", func(t *testing.T) {
			for _, p := range []string{
				"/", "/portal/default", "/portal/default?q=" + q, "/portal/default?tag=" + q, "/portal/default/apis/" + api,
				"/portal/default/apis/" + spec, "/portal/" + url.PathEscape(xss(93)), "/portal/login?next=" + q, "/portal/signup?email=" + q,
				"/oauth2/authorize?response_type=code&state=" + q + "&client_id=" + q + "&redirect_uri=" + q,
			} {
				visit(t, "anonymous", p)
			}
			// Refused input is kept in the form, never as markup.
			do(t, ctx, chromedp.Navigate(s.URL+"/portal/login"), chromedp.WaitVisible(chromedp.CSS("#f-email")),
				chromedp.SetValue(chromedp.CSS("#f-email"), xssScript(94)), chromedp.SetValue(chromedp.CSS("#f-password"), "wrong-password"),
				chromedp.Submit(chromedp.CSS("#f-password")), chromedp.WaitVisible(chromedp.CSS("#f-email")))
			visitCurrent(t, ctx, "refused log-in", &mu, &dialogs)
		})

		t.Run("admin and publisher pages", func(t *testing.T) {
			chromeLogin(t, ctx, s, apptest.AdminEmail, apptest.AdminPassword)
			for _, p := range []string{
				"/publisher", "/publisher/apis", "/publisher/apis?q=" + q, "/publisher/apis/" + api, "/publisher/apis/" + api + "/operations",
				"/publisher/apis/" + api + "/documents", "/publisher/apis/" + api + "/openapi", "/publisher/apis/" + spec,
				"/publisher/apis/" + spec + "/operations", "/publisher/subscriptions", "/publisher/tiers", "/publisher/analytics",
				"/publisher/apis/" + url.PathEscape(xss(95)), "/admin", "/admin/branding", "/portal/default", "/portal/default/apis/" + api,
			} {
				visit(t, "admin", p)
			}
			// The branding form refuses a payload colour and logo, and shows them back inert.
			do(t, ctx, chromedp.Navigate(s.URL+"/admin/branding"), chromedp.WaitVisible(chromedp.CSS("#f-brand_color")),
				chromedp.SetValue(chromedp.CSS("#f-brand_color"), `red;}</style><script data-xss>__xss=96</script>`),
				chromedp.SetValue(chromedp.CSS("#f-logo_url"), `javascript:__xss=97//"><img data-xss src=x onerror=__xss=97>`),
				chromedp.Submit(chromedp.CSS("#f-brand_color")), chromedp.Sleep(300*time.Millisecond), chromedp.WaitReady(chromedp.CSS("body")))
			visitCurrent(t, ctx, "refused branding", &mu, &dialogs)
			// A document preview renders the Markdown the same sanitised way.
			do(t, ctx, chromedp.Navigate(s.URL+"/publisher/apis/"+api+"/documents"), chromedp.WaitVisible(chromedp.CSS("body")))
			if err := chromedp.Do(ctx, chromedp.SetValue(chromedp.CSS(`textarea[name="body"]`), xssMarkdown),
				chromedp.Click(chromedp.CSS(`button[name="preview"]`)), chromedp.Sleep(300*time.Millisecond), chromedp.WaitReady(chromedp.CSS("body"))); err != nil {
				t.Logf("no document preview to check: %v", err)
			} else {
				visitCurrent(t, ctx, "document preview", &mu, &dialogs)
			}
		})

		t.Run("developer pages", func(t *testing.T) {
			if _, err := chromedp.Call(ctx, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
				t.Fatal(err)
			}
			chromeLogin(t, ctx, s, "dev@example.com", "user-password-1")
			base := "/portal/default/applications/" + app
			for _, p := range []string{
				"/portal/default", "/portal/default?q=" + q, "/portal/default/apis/" + api, "/portal/default/apis/" + spec,
				"/portal/default/applications", base, base + "/usage", base + "/delete", "/portal/default/invoices",
			} {
				visit(t, "developer", p)
			}
			// The try-it console fills its fields from the spec's examples.
			do(t, ctx, chromedp.Navigate(s.URL+"/portal/default/apis/"+spec), chromedp.WaitReady(chromedp.CSS("body")))
			if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`[data-tryit] button, .tryit button, button.tryit`)), chromedp.Sleep(500*time.Millisecond)); err != nil {
				t.Logf("try-it not clicked: %v", err)
			}
			visitCurrent(t, ctx, "try-it", &mu, &dialogs)
		})

		// The payloads were on the pages, as text.
		if shown < 20 {
			t.Errorf("only %d pages showed a payload as text: are the pages showing the data at all?", shown)
		}
	})
}

// visitCurrent checks the page the tab shows now (after a form post).
func visitCurrent(t *testing.T, ctx context.Context, what string, mu *sync.Mutex, dialogs *[]string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Sleep(150*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](pageCheckJS))
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	var pc pageCheck
	if err := json.Unmarshal([]byte(raw), &pc); err != nil {
		t.Fatal(err)
	}
	if pc.XSS != float64(0) || pc.Marked > 0 || pc.Handlers > 0 || pc.JSURLs > 0 || pc.Scripts > 0 {
		t.Errorf("%s: script ran or markup injected: %+v", what, pc)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(*dialogs) > 0 {
		t.Errorf("%s: a dialog opened: %q", what, *dialogs)
		*dialogs = nil
	}
}

// chromeLogin logs the tab in through the portal's form.
func chromeLogin(t *testing.T, ctx context.Context, s *apptest.Server, email, password string) {
	t.Helper()
	do(t, ctx, chromedp.Navigate(s.URL+"/portal/login"), chromedp.WaitVisible(chromedp.CSS("#f-email")),
		chromedp.SendKeys(chromedp.CSS("#f-email"), email), chromedp.SendKeys(chromedp.CSS("#f-password"), password),
		chromedp.Submit(chromedp.CSS("#f-password")), chromedp.WaitNotPresent(chromedp.CSS(`form[action="/portal/login"]`)))
}

// mustCreate POSTs body and returns the new object's id.
func mustCreate(t *testing.T, s *apptest.Server, token, path string, body any) string {
	t.Helper()
	r := s.Do(t, http.MethodPost, path, token, body)
	if r.Status != http.StatusCreated && r.Status != http.StatusOK {
		t.Fatalf("POST %s: %d %s", path, r.Status, r.Body)
	}
	var obj struct{ ID string }
	r.JSON(t, &obj)
	return obj.ID
}
