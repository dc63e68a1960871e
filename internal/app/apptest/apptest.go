// Package apptest starts a real Portico (app.New + an HTTP listener on loopback)
// over a fresh database for tests, and gives them a small JSON client. Use Each to
// run a test on SQLite and PostgreSQL alike.
package apptest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"portico/internal/account"
	"portico/internal/app"
	"portico/internal/config"
	"portico/internal/store/storetest"
)

// Admin credentials of every test installation.
const (
	AdminEmail    = "admin@example.com"
	AdminPassword = "admin-password-1"
	Secret        = "test-secret-test-secret-test-secret-0123"
)

// Server is a running Portico.
type Server struct {
	URL    string
	App    *app.App
	Config config.Config
	// HTTP is a client with no cookie jar and no redirects followed.
	HTTP *http.Client
}

// Option adjusts the configuration before start.
type Option func(*config.Config)

// Each runs fn once per database dialect, each with its own server.
func Each(t *testing.T, fn func(t *testing.T, s *Server), opts ...Option) {
	t.Helper()
	for _, d := range storetest.Dialects {
		t.Run(d, func(t *testing.T) { fn(t, Start(t, d, opts...)) })
	}
}

// Start runs Portico on a fresh database of dialect until the test ends.
func Start(t testing.TB, dialect string, opts ...Option) *Server {
	t.Helper()
	return start(t, dialect, storetest.Logger(t), opts...)
}

// StartLogging is Start with the process logger of `portico serve`
// (app.NewLogger, at debug level) writing to w, for tests that read what
// Portico logs. w must be safe for concurrent writes.
func StartLogging(t testing.TB, dialect string, w io.Writer, opts ...Option) *Server {
	t.Helper()
	return start(t, dialect, app.NewLogger(config.Log{Level: slog.LevelDebug, Format: "text"}, w), opts...)
}

func start(t testing.TB, dialect string, log *slog.Logger, opts ...Option) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	cfg, err := config.Load(func(k string) string {
		switch k {
		case "PORT":
			return fmt.Sprint(port)
		case "PORTICO_SECRET":
			return Secret
		case "PORTICO_ADMIN_EMAIL":
			return AdminEmail
		case "PORTICO_ADMIN_PASSWORD":
			return AdminPassword
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Database = storetest.Database(t, dialect)
	for _, o := range opts {
		o(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, log, app.Options{Migrate: true})
	if err != nil {
		cancel()
		t.Fatalf("apptest: start: %v", err)
	}
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- a.ServeListener(ctx, ln, ready) }()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("apptest: serve: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("apptest: server did not stop within 30 s")
		}
		a.Close()
	})
	return &Server{
		URL: "http://" + ln.Addr().String(), App: a, Config: cfg,
		HTTP: &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
	}
}

// Response is an answer read whole.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v or fails the test.
func (r *Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("apptest: body is not JSON (%v): %s", err, r.Body)
	}
}

// ErrorCode returns the contract error code in the body ("" if none).
func (r *Response) ErrorCode() string {
	var e struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	_ = json.Unmarshal(r.Body, &e)
	return e.Error.Code
}

// Do sends a request. body may be nil, a string/[]byte (sent as is, JSON content
// type) or any value (marshalled to JSON). token, when set, is sent as Bearer.
func (s *Server) Do(t testing.TB, method, path, token string, body any) *Response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return s.Send(t, req)
}

// Send sends req with the server's client and reads the answer whole.
func (s *Server) Send(t testing.TB, req *http.Request) *Response {
	t.Helper()
	resp, err := s.HTTP.Do(req)
	if err != nil {
		t.Fatalf("apptest: %s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// Token logs in through POST /api/v1/tokens and returns the token.
func (s *Server) Token(t testing.TB, email, password string) string {
	t.Helper()
	r := s.Do(t, http.MethodPost, "/api/v1/tokens", "", map[string]string{"email": email, "password": password})
	if r.Status != http.StatusCreated {
		t.Fatalf("apptest: token for %s: %d %s", email, r.Status, r.Body)
	}
	var out struct{ Token string }
	r.JSON(t, &out)
	return out.Token
}

// AdminToken is Token for the bootstrap admin.
func (s *Server) AdminToken(t testing.TB) string { return s.Token(t, AdminEmail, AdminPassword) }

// NewUser has the admin create a user with role and returns that user's token.
func (s *Server) NewUser(t testing.TB, adminToken, email, role string) string {
	t.Helper()
	const pw = "user-password-1"
	r := s.Do(t, http.MethodPost, "/api/v1/users", adminToken, map[string]string{"email": email, "password": pw, "role": role})
	if r.Status != http.StatusCreated {
		t.Fatalf("apptest: create %s: %d %s", email, r.Status, r.Body)
	}
	return s.Token(t, email, pw)
}

// Browser is an HTTP client with a cookie jar, like a person's browser, that does
// not follow redirects (tests check where they point).
func (s *Server) Browser(t testing.TB) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// NewOrg creates another organisation with its own admin and returns that admin's
// token, for tests that check tenants are kept apart.
func (s *Server) NewOrg(t testing.TB, slug string) string {
	t.Helper()
	ctx := context.Background()
	org, err := s.App.Accounts().CreateOrg(ctx, strings.ToUpper(slug[:1])+slug[1:], slug)
	if err != nil {
		t.Fatalf("apptest: create org %s: %v", slug, err)
	}
	email, pw := "admin@"+slug+".example.com", "org-admin-password"
	founder := account.Principal{OrgID: org.ID, Role: account.RoleAdmin}
	if _, err := s.App.Accounts().CreateUser(ctx, founder, account.NewUser{Email: email, Password: pw, Role: account.RoleAdmin}); err != nil {
		t.Fatalf("apptest: create admin of %s: %v", slug, err)
	}
	return s.Token(t, email, pw)
}

// StartGateway runs a `portico gateway` node over the same database as s, until
// the test ends.
func StartGateway(t testing.TB, s *Server) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := s.Config
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, storetest.Logger(t), app.Options{GatewayOnly: true})
	if err != nil {
		cancel()
		t.Fatalf("apptest: start gateway: %v", err)
	}
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- a.ServeListener(ctx, ln, ready) }()
	<-ready
	t.Cleanup(func() {
		cancel()
		<-done
		a.Close()
	})
	return &Server{URL: "http://" + ln.Addr().String(), App: a, Config: cfg, HTTP: s.HTTP}
}
