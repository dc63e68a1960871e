package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"portico/internal/platform/requestid"
	"strings"
	"syscall"
	"testing"

	"github.com/labstack/echo/v4"

	"portico/internal/platform/apperr"
	"portico/internal/platform/metrics"
)

func newEcho(t *testing.T) (*echo.Echo, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	log := slog.New(requestid.ContextHandler{Handler: slog.NewTextHandler(&logs, nil)})
	return New(Options{Logger: log, Metrics: metrics.NewHTTP(metrics.NewRegistry())}), &logs
}

func serve(e *echo.Echo, req *http.Request) (*httptest.ResponseRecorder, apperr.Body) {
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	var body apperr.Body
	_ = json.Unmarshal(rec.Body.Bytes(), &body)
	return rec, body
}

func TestPanicsBecomeAGeneric500(t *testing.T) {
	e, logs := newEcho(t)
	e.GET("/boom", func(echo.Context) error { panic("secret detail: db password hunter2") })
	rec, body := serve(e, httptest.NewRequest("GET", "/boom", nil))
	if rec.Code != 500 || body.Error.Code != "internal_error" {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if strings.Contains(rec.Body.String(), "hunter2") || strings.Contains(rec.Body.String(), "goroutine") {
		t.Fatalf("panic detail leaked to the client: %s", rec.Body)
	}
	if !strings.Contains(logs.String(), "panic in handler") || !strings.Contains(logs.String(), "request_id=") {
		t.Fatalf("panic not logged with its request id: %s", logs.String())
	}
	// The server keeps serving.
	e.GET("/ok", func(c echo.Context) error { return c.NoContent(204) })
	if rec, _ := serve(e, httptest.NewRequest("GET", "/ok", nil)); rec.Code != 204 {
		t.Fatalf("after a panic: %d", rec.Code)
	}
}

func TestInternalErrorsAreLoggedNotShown(t *testing.T) {
	e, logs := newEcho(t)
	e.GET("/db", func(echo.Context) error { return errors.New(`pq: relation "users" does not exist`) })
	rec, body := serve(e, httptest.NewRequest("GET", "/db", nil))
	if rec.Code != 500 || body.Error.Code != "internal_error" || strings.Contains(rec.Body.String(), "relation") {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if !strings.Contains(logs.String(), "does not exist") {
		t.Fatal("cause missing from the log")
	}
}

func TestUnreachableDatabaseIsA503(t *testing.T) {
	e, _ := newEcho(t)
	e.GET("/down", func(echo.Context) error {
		return fmt.Errorf("account: read session: %w", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED})
	})
	rec, body := serve(e, httptest.NewRequest("GET", "/down", nil))
	if rec.Code != 503 || body.Error.Code != "database_unavailable" || strings.Contains(rec.Body.String(), "dial") {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}

func TestBindJSONErrorsNameTheProblem(t *testing.T) {
	type in struct {
		Name  string   `json:"name"`
		Count int      `json:"count"`
		Tags  []string `json:"tags"`
	}
	cases := []struct {
		body, ctype string
		kind        apperr.Kind
		code, field string
	}{
		{`{"name":"x","count":1}`, "application/json", 0, "", ""},
		{`{"name":"x"}`, "application/json; charset=utf-8", 0, "", ""},
		{`{"name":"x"}`, "", 0, "", ""},
		{`{"count":"three"}`, "application/json", apperr.KindInvalid, "invalid_field", "count"},
		{`{"tags":"a"}`, "application/json", apperr.KindInvalid, "invalid_field", "tags"},
		{`[1,2]`, "application/json", apperr.KindInvalid, "invalid_json", ""},
		{`{"name":}`, "application/json", apperr.KindInvalid, "invalid_json", ""},
		{`{"name":"x"`, "application/json", apperr.KindInvalid, "invalid_json", ""},
		{``, "application/json", apperr.KindInvalid, "invalid_json", ""},
		{`{"name":"x"} {}`, "application/json", apperr.KindInvalid, "invalid_json", ""},
		{`{"name":"x"}`, "text/plain", apperr.KindUnsupportedMediaType, "unsupported_media_type", ""},
		{`{"name":"` + strings.Repeat("a", DefaultBodyLimit) + `"}`, "application/json", apperr.KindTooLarge, "body_too_large", ""},
	}
	for _, tc := range cases {
		name := tc.body
		if len(name) > 30 {
			name = name[:30]
		}
		t.Run(name, func(t *testing.T) {
			req := httptest.NewRequest("POST", "/", strings.NewReader(tc.body))
			if tc.ctype != "" {
				req.Header.Set("Content-Type", tc.ctype)
			}
			var v in
			err := DecodeJSON(req, &v, DefaultBodyLimit)
			if tc.code == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			ae, ok := apperr.As(err)
			if !ok || ae.Kind != tc.kind || ae.Code != tc.code || ae.Field != tc.field || ae.Message == "" {
				t.Fatalf("got %#v", err)
			}
		})
	}
}

func TestPages(t *testing.T) {
	e := echo.New()
	page := func(q string) (Page, error) {
		c := e.NewContext(httptest.NewRequest("GET", "/?"+q, nil), httptest.NewRecorder())
		return ParsePage(c)
	}
	p, err := page("")
	if err != nil || p.Limit != DefaultPageSize || p.After != "" {
		t.Fatalf("%+v %v", p, err)
	}
	items := []string{"a", "b", "c"}
	l := NewList(Page{Limit: 2}, items, func(s string) string { return s })
	if len(l.Items) != 2 || l.NextCursor == "" {
		t.Fatalf("%+v", l)
	}
	p, err = page("limit=2&cursor=" + url.QueryEscape(l.NextCursor))
	if err != nil || p.After != "b" || p.Limit != 2 {
		t.Fatalf("cursor round trip: %+v %v", p, err)
	}
	if l := NewList(Page{Limit: 5}, []string(nil), func(s string) string { return s }); l.Items == nil || l.NextCursor != "" {
		t.Fatalf("empty list must be [] with no cursor: %+v", l)
	}
	for _, q := range []string{"limit=0", "limit=-1", "limit=1000", "limit=ten", "cursor=***"} {
		if _, err := page(q); apperr.KindOf(err) != apperr.KindInvalid {
			t.Fatalf("%s accepted: %v", q, err)
		}
	}
}

func TestCSRF(t *testing.T) {
	e, _ := newEcho(t)
	g := NewCSRF([]byte("0123456789abcdef0123456789abcdef"))
	e.Use(g.Middleware())
	e.GET("/form", func(c echo.Context) error { return c.String(200, CSRFToken(c)) })
	e.POST("/form", func(c echo.Context) error { return c.NoContent(204) })

	rec, _ := serve(e, httptest.NewRequest("GET", "/form", nil))
	token := rec.Body.String()
	cookie := rec.Result().Cookies()[0]
	if cookie.Name != CSRFCookie || !cookie.HttpOnly || len(token) != 64 {
		t.Fatalf("cookie %+v token %q", cookie, token)
	}
	post := func(tok string, withCookie bool, header bool) int {
		form := url.Values{}
		if tok != "" && !header {
			form.Set(CSRFFormField, tok)
		}
		req := httptest.NewRequest("POST", "/form", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if header {
			req.Header.Set(CSRFHeader, tok)
		}
		if withCookie {
			req.AddCookie(cookie)
		}
		rec, _ := serve(e, req)
		return rec.Code
	}
	if c := post(token, true, false); c != 204 {
		t.Fatalf("valid form token: %d", c)
	}
	if c := post(token, true, true); c != 204 {
		t.Fatalf("valid header token: %d", c)
	}
	for name, c := range map[string]int{
		"no token":          post("", true, false),
		"wrong token":       post(strings.Repeat("0", 64), true, false),
		"token, no cookie":  post(token, false, false),
		"token of a cookie": post(token[:63]+"x", true, false),
	} {
		if c != 403 {
			t.Fatalf("%s: %d", name, c)
		}
	}
}
