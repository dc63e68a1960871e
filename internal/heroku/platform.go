package heroku

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// platform calls Heroku's identity service (token exchange and refresh) and the
// Platform API for Partners (heroku-addon.md §5). Tokens are opaque strings.
type platform struct {
	apiBase, idBase string
	clientSecret    string
	http            *http.Client
}

// tokens is the identity service's answer to a grant exchange or refresh.
type tokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	ExpiresIn    int64  `json:"expires_in"`
	TokenType    string `json:"token_type"`
	UserID       string `json:"user_id"`
}

// addonInfo is the part of GET /addons/{id} Portico reads.
type addonInfo struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	State string `json:"state"`
	App   struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"app"`
	Plan struct {
		Name string `json:"name"`
	} `json:"plan"`
}

// callError is a failed call to Heroku: Status is 0 when no answer came.
type callError struct {
	What   string
	Status int
	Body   string
	Err    error
}

func (e *callError) Error() string {
	if e.Status == 0 {
		return fmt.Sprintf("heroku: %s: %v", e.What, e.Err)
	}
	return fmt.Sprintf("heroku: %s: HTTP %d: %s", e.What, e.Status, e.Body)
}

func (e *callError) Unwrap() error { return e.Err }

// isUnauthorized reports whether Heroku refused the access token.
func isUnauthorized(err error) bool {
	var ce *callError
	return errors.As(err, &ce) && ce.Status == http.StatusUnauthorized
}

// exchange trades a provisioning grant code for tokens (§5a).
func (p *platform) exchange(ctx context.Context, code string) (tokens, error) {
	return p.token(ctx, "grant exchange", url.Values{"grant_type": {"authorization_code"}, "code": {code}})
}

// refresh trades a refresh token for a new access token (§5b).
func (p *platform) refresh(ctx context.Context, refreshToken string) (tokens, error) {
	return p.token(ctx, "token refresh", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}})
}

func (p *platform) token(ctx context.Context, what string, form url.Values) (tokens, error) {
	if p.clientSecret == "" {
		return tokens{}, &callError{What: what, Err: errors.New("HEROKU_CLIENT_SECRET is not set")}
	}
	form.Set("client_secret", p.clientSecret)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.idBase+"/oauth/token", strings.NewReader(form.Encode()))
	if err != nil {
		return tokens{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	var t tokens
	if err := p.do(req, what, &t); err != nil {
		return tokens{}, err
	}
	if t.AccessToken == "" {
		return tokens{}, &callError{What: what, Status: http.StatusOK, Body: "no access_token in the answer"}
	}
	return t, nil
}

// addon reads the add-on's record, which names its app.
func (p *platform) addon(ctx context.Context, accessToken, uuid string) (addonInfo, error) {
	var a addonInfo
	err := p.api(ctx, accessToken, http.MethodGet, "/addons/"+url.PathEscape(uuid), nil, "add-on info", &a)
	return a, err
}

// configVar is one entry of PATCH /addons/{id}/config.
type configVar struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// setConfig sets the add-on's config vars on every app it is attached to.
func (p *platform) setConfig(ctx context.Context, accessToken, uuid string, vars []configVar) error {
	body := map[string]any{"config": vars}
	return p.api(ctx, accessToken, http.MethodPatch, "/addons/"+url.PathEscape(uuid)+"/config", body, "config update", nil)
}

// markProvisioned ends asynchronous provisioning; Heroku restarts the app.
func (p *platform) markProvisioned(ctx context.Context, accessToken, uuid string) error {
	return p.api(ctx, accessToken, http.MethodPost, "/addons/"+url.PathEscape(uuid)+"/actions/provision", nil, "provision action", nil)
}

func (p *platform) api(ctx context.Context, accessToken, method, path string, body any, what string, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, p.apiBase+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/vnd.heroku+json; version=3")
	req.Header.Set("Authorization", "Bearer "+accessToken)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return p.do(req, what, out)
}

// maxAnswer bounds what Portico reads of Heroku's answers.
const maxAnswer = 1 << 20

func (p *platform) do(req *http.Request, what string, out any) error {
	resp, err := p.http.Do(req)
	if err != nil {
		return &callError{What: what, Err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return &callError{What: what, Status: resp.StatusCode, Err: err}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		// Heroku's error bodies carry an id and a message, never a secret.
		msg := string(b)
		if len(msg) > 300 {
			msg = msg[:300]
		}
		return &callError{What: what, Status: resp.StatusCode, Body: msg}
	}
	if out != nil && len(bytes.TrimSpace(b)) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return &callError{What: what, Status: resp.StatusCode, Err: fmt.Errorf("answer is not JSON: %w", err)}
		}
	}
	return nil
}

// newPlatform returns a client with a timeout fit for background jobs.
func newPlatform(apiBase, idBase, clientSecret string) *platform {
	return &platform{
		apiBase: strings.TrimRight(apiBase, "/"), idBase: strings.TrimRight(idBase, "/"), clientSecret: clientSecret,
		http: &http.Client{Timeout: 20 * time.Second},
	}
}
