package heroku

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"portico/internal/catalog"
	"portico/internal/store/outbox"
)

// Run processes due jobs until ctx ends: every PollEvery, and at once after a
// provision enqueues one. Jobs are claimed with a lease, so several nodes may
// run workers over one database.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(s.pollEvery)
	defer t.Stop()
	lastPurge := time.Time{}
	for {
		s.RunDue(ctx)
		if now := s.now(); now.Sub(lastPurge) > 10*time.Minute {
			if err := s.repo.purgeReplays(ctx, now); err != nil && ctx.Err() == nil {
				s.log.WarnContext(ctx, "heroku: SSO token clean-up failed", "err", err)
			}
			lastPurge = now
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.kick:
		}
	}
}

// wake asks the worker to look for jobs now; it never blocks.
func (s *Service) wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// RunDue runs the jobs due now, one after another.
func (s *Service) RunDue(ctx context.Context) { s.jobs.RunDue(ctx) }

// newWorker works heroku_jobs: a job's calls are bounded well below its
// two-minute lease; it keeps trying until its deadline, and a provisioning
// that fails for good marks its resource failed.
func (s *Service) newWorker() *outbox.Worker[job, *job] {
	return &outbox.Worker[job, *job]{Store: s.st, Log: s.log, Name: "heroku", Lease: 2 * time.Minute,
		Now: func() time.Time { return s.now() }, RetryBase: s.retryBase, RetryMax: s.retryMax, Step: s.step,
		GiveUp: func(j *job, now time.Time) bool { return now.After(j.Deadline) },
		OnFailed: func(ctx context.Context, j *job) {
			if j.Kind == jobProvision {
				_ = s.repo.updateResource(ctx, j.ResourceUUID, map[string]any{"state": StateFailed, "updated_at": s.now()})
			}
		},
		Attrs: func(j *job) []any { return []any{"uuid", j.ResourceUUID} }}
}

// permanent marks a job failure retrying cannot fix.
func permanent(err error) error { return outbox.Permanent{Err: err} }

// step does what is left of a job. Every part checks what is already done, so
// a retry resumes where the last attempt stopped.
func (s *Service) step(ctx context.Context, j *job) error {
	res, err := s.repo.resource(ctx, j.ResourceUUID)
	if err != nil {
		return err
	}
	if res.State == StateDeprovisioned {
		return nil
	}
	// 1. Exchange the grant at once: it is good for minutes only.
	if res.AccessToken == "" && res.GrantCode != "" && s.cfg.ClientSecret != "" {
		code, err := s.sealer.Open(res.GrantCode)
		if err != nil {
			return permanent(fmt.Errorf("heroku: grant of %s: %w", res.UUID, err))
		}
		t, err := s.platform.exchange(ctx, string(code))
		var ce *callError
		if errors.As(err, &ce) && ce.Status >= 400 && ce.Status < 500 && ce.Status != http.StatusTooManyRequests {
			return permanent(err) // a spent or expired grant never becomes good
		}
		if err != nil {
			return err
		}
		if err := s.saveTokens(ctx, &res, t, true); err != nil {
			return err
		}
	}
	// 2. Learn the app behind the add-on when no option named the backend.
	if res.BackendURL == "" {
		if res.AccessToken == "" {
			return permanent(errors.New("heroku: the app's name is unknown and there is no Platform API token to ask for it (set HEROKU_CLIENT_SECRET)"))
		}
		var info addonInfo
		err := s.withToken(ctx, &res, func(tok string) error {
			var err error
			info, err = s.platform.addon(ctx, tok, res.UUID)
			return err
		})
		if err != nil {
			return err
		}
		if !appNameRE.MatchString(info.App.Name) {
			return fmt.Errorf("heroku: add-on %s names no usable app (%q)", res.UUID, info.App.Name)
		}
		backend := "https://" + info.App.Name + ".herokuapp.com"
		err = s.st.InTx(ctx, func(ctx context.Context) error {
			if res.APIID != "" {
				if _, err := s.catalog.UpdateAPI(ctx, owner(res.OrgID), res.APIID, catalog.APIInput{BackendURL: &backend}); err != nil {
					return err
				}
			}
			return s.repo.updateResource(ctx, res.UUID, map[string]any{"app_name": info.App.Name, "backend_url": backend, "updated_at": s.now()})
		})
		if err != nil {
			return err
		}
		res.AppName, res.BackendURL = info.App.Name, backend
	}
	if res.APIID == "" {
		return nil
	}
	p := owner(res.OrgID)
	api, err := s.catalog.API(ctx, p, res.APIID)
	if errors.Is(err, catalog.ErrAPINotFound) {
		return permanent(fmt.Errorf("heroku: the API of %s is gone", res.UUID))
	}
	if err != nil {
		return err
	}
	cred, err := s.catalog.BackendCredential(api)
	if err != nil {
		return permanent(err)
	}
	// 3. Asynchronous plans go live only once the app answers.
	if j.Kind == jobProvision && res.State == StateProvisioning {
		if err := s.checkBackend(ctx, res.BackendURL, cred.Secret); err != nil {
			return err
		}
	}
	// 4. Publish.
	if api.State == catalog.StateCreated {
		if _, err := s.catalog.ChangeState(ctx, p, api.ID, catalog.ActionPublish, false); err != nil {
			return err
		}
	}
	if j.Kind != jobProvision || res.State != StateProvisioning {
		return nil
	}
	// 5. Config vars (no restart yet), then the provision action (restart).
	vars := []configVar{{Name: VarURL, Value: s.catalog.GatewayURL(api)}, {Name: VarBackendSecret, Value: cred.Secret}}
	if err := s.withToken(ctx, &res, func(tok string) error { return s.platform.setConfig(ctx, tok, res.UUID, vars) }); err != nil {
		return err
	}
	if err := s.withToken(ctx, &res, func(tok string) error { return s.platform.markProvisioned(ctx, tok, res.UUID) }); err != nil {
		return err
	}
	return s.repo.updateResource(ctx, res.UUID, map[string]any{"state": StateProvisioned, "updated_at": s.now()})
}

// checkBackend asks the app's backend for its root, with the secret header. Any
// answer but the router's "no app here" (502, 503, 504) counts.
func (s *Service) checkBackend(ctx context.Context, backend, secret string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, backend+"/", nil)
	if err != nil {
		return permanent(err)
	}
	req.Header.Set(SecretHeader, secret)
	req.Header.Set("User-Agent", "Portico-Heroku-Addon")
	resp, err := s.probe.Do(req)
	if err != nil {
		return fmt.Errorf("heroku: the app's backend %s does not answer: %w", backend, err)
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return fmt.Errorf("heroku: the app's backend %s answers %d", backend, resp.StatusCode)
	}
	return nil
}

// refreshMargin is how long before expiry an access token is renewed.
const refreshMargin = 5 * time.Minute

// withToken runs call with a live access token: renewed first when it expires
// within refreshMargin, and renewed and retried once when Heroku refuses it.
func (s *Service) withToken(ctx context.Context, res *Resource, call func(tok string) error) error {
	if res.TokenExpiresAt != nil && s.now().Add(refreshMargin).After(*res.TokenExpiresAt) {
		if err := s.refreshTokens(ctx, res); err != nil {
			return err
		}
	}
	tok, err := s.sealer.Open(res.AccessToken)
	if err != nil {
		return permanent(fmt.Errorf("heroku: access token of %s: %w", res.UUID, err))
	}
	err = call(string(tok))
	if !isUnauthorized(err) {
		return err
	}
	if err := s.refreshTokens(ctx, res); err != nil {
		return err
	}
	if tok, err = s.sealer.Open(res.AccessToken); err != nil {
		return permanent(err)
	}
	return call(string(tok))
}

func (s *Service) refreshTokens(ctx context.Context, res *Resource) error {
	if res.RefreshToken == "" {
		return permanent(fmt.Errorf("heroku: %s has no refresh token", res.UUID))
	}
	rt, err := s.sealer.Open(res.RefreshToken)
	if err != nil {
		return permanent(fmt.Errorf("heroku: refresh token of %s: %w", res.UUID, err))
	}
	t, err := s.platform.refresh(ctx, string(rt))
	if err != nil {
		return err
	}
	return s.saveTokens(ctx, res, t, false)
}

// saveTokens seals and stores new tokens; a refresh answer without a refresh
// token keeps the old one. The grant is spent once exchanged.
func (s *Service) saveTokens(ctx context.Context, res *Resource, t tokens, fromGrant bool) error {
	now := s.now()
	exp := now.Add(time.Duration(t.ExpiresIn) * time.Second)
	if t.ExpiresIn <= 0 {
		exp = now.Add(8 * time.Hour)
	}
	cols := map[string]any{"access_token": s.sealer.Seal([]byte(t.AccessToken)), "token_expires_at": exp, "updated_at": now}
	if t.RefreshToken != "" {
		cols["refresh_token"] = s.sealer.Seal([]byte(t.RefreshToken))
	}
	if fromGrant {
		cols["grant_code"] = ""
	}
	if err := s.repo.updateResource(ctx, res.UUID, cols); err != nil {
		return err
	}
	res.AccessToken, res.TokenExpiresAt = cols["access_token"].(string), &exp
	if rt, ok := cols["refresh_token"].(string); ok {
		res.RefreshToken = rt
	}
	if fromGrant {
		res.GrantCode = ""
	}
	return nil
}
