package heroku

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"portico/internal/account"
	"portico/internal/catalog"
	"portico/internal/config"
	"portico/internal/platform/apperr"
	"portico/internal/platform/secrets"
	"portico/internal/store"
	"portico/internal/store/outbox"
)

// Config var names: the manifest declares them, provisioning answers them.
const (
	VarURL           = "PORTICO_URL"
	VarBackendSecret = "PORTICO_BACKEND_SECRET"
	// SecretHeader carries PORTICO_BACKEND_SECRET from the gateway to the app.
	SecretHeader = "X-Portico-Secret"
	// APIVersion is the version of the API provisioning creates.
	APIVersion = "v1"
	// apiTimeoutMS keeps the gateway's upstream wait below Heroku's 30 s router
	// timeout, so a slow app gets Portico's 504 rather than the router's H12.
	apiTimeoutMS = 25000
)

// Plan is an add-on plan: the tier its API is published on, and whether it
// provisions asynchronously (202).
type Plan struct {
	Name  string
	Tier  string
	Async bool
}

// Plans are the add-on's plans (CONTRACT §8).
var Plans = []Plan{
	{Name: "test", Tier: "Bronze"},
	{Name: "starter", Tier: "Silver"},
	{Name: "pro", Tier: "Gold", Async: true},
}

// PlanNamed finds a plan by its slug; "portico:pro" is read as "pro".
func PlanNamed(name string) (Plan, bool) {
	name = strings.ToLower(strings.TrimSpace(name))
	if i := strings.LastIndexByte(name, ':'); i >= 0 {
		name = name[i+1:]
	}
	for _, p := range Plans {
		if p.Name == name {
			return p, true
		}
	}
	return Plan{}, false
}

// Refusal is a partner-API answer other than success: a status and the
// message Heroku shows the customer.
type Refusal struct {
	Status  int
	Message string
}

func (r *Refusal) Error() string { return fmt.Sprintf("heroku: %d: %s", r.Status, r.Message) }

func refuse(status int, format string, args ...any) *Refusal {
	return &Refusal{Status: status, Message: fmt.Sprintf(format, args...)}
}

// Answer is a partner-API success: a status and a JSON body (nil for none).
type Answer struct {
	Status int
	Body   any
}

// ProvisionRequest is Heroku's v3 provision body (heroku-addon.md §2). Unknown
// fields are ignored; options are decoded leniently.
type ProvisionRequest struct {
	UUID        string         `json:"uuid"`
	Name        string         `json:"name"`
	Plan        string         `json:"plan"`
	Region      string         `json:"region"`
	CallbackURL string         `json:"callback_url"`
	Options     map[string]any `json:"options"`
	OAuthGrant  *struct {
		Code      string `json:"code"`
		ExpiresAt string `json:"expires_at"`
		Type      string `json:"type"`
	} `json:"oauth_grant"`
	LogInputURL   string `json:"log_input_url,omitempty"`
	LogDrainToken string `json:"log_drain_token,omitempty"`
}

// ProvisionResponse is the provision answer.
type ProvisionResponse struct {
	ID      string            `json:"id"`
	Message string            `json:"message,omitempty"`
	Config  map[string]string `json:"config,omitempty"`
}

// Options configure NewService.
type Options struct {
	// Heroku is the add-on's credentials and Heroku's API bases.
	Heroku config.Heroku
	// BaseURL is PORTICO_BASE_URL.
	BaseURL string
	// PollEvery is how often the worker looks for due jobs (default 2 s);
	// RetryBase is the first retry's delay, doubled per attempt up to RetryMax
	// (defaults 1 s and 5 min); JobDeadline is how long a job keeps trying
	// (default 12 h, Heroku's limit for asynchronous provisioning).
	PollEvery, RetryBase, RetryMax, JobDeadline time.Duration
}

// Service is the add-on: partner API, SSO and the provisioning worker.
type Service struct {
	cfg      config.Heroku
	baseURL  string
	st       *store.Store
	repo     repo
	accounts *account.Service
	catalog  *catalog.Service
	sealer   *secrets.Sealer
	platform *platform
	probe    *http.Client
	log      *slog.Logger
	now      func() time.Time
	kick     chan struct{}
	jobs     *outbox.Worker[job, *job]

	pollEvery, retryBase, retryMax, jobDeadline time.Duration
}

// NewService returns the add-on over st. Tokens and stored answers are sealed
// with keyring's "heroku-tokens" key.
func NewService(st *store.Store, accounts *account.Service, cat *catalog.Service, keyring *secrets.Keyring, log *slog.Logger, o Options) *Service {
	s := &Service{
		cfg: o.Heroku, baseURL: strings.TrimRight(o.BaseURL, "/"), st: st, repo: repo{st}, accounts: accounts, catalog: cat,
		sealer:   keyring.Sealer("heroku-tokens"),
		platform: newPlatform(o.Heroku.APIBase, o.Heroku.IDBase, o.Heroku.ClientSecret.Reveal()),
		probe: &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // any answer counts; never follow it elsewhere
		}},
		log: log, now: func() time.Time { return time.Now().UTC() }, kick: make(chan struct{}, 1),
		pollEvery: o.PollEvery, retryBase: o.RetryBase, retryMax: o.RetryMax, jobDeadline: o.JobDeadline,
	}
	if s.pollEvery <= 0 {
		s.pollEvery = 2 * time.Second
	}
	if s.retryBase <= 0 {
		s.retryBase = time.Second
	}
	if s.retryMax <= 0 {
		s.retryMax = 5 * time.Minute
	}
	if s.jobDeadline <= 0 {
		s.jobDeadline = 12 * time.Hour
	}
	s.jobs = s.newWorker()
	return s
}

// Enabled reports whether the add-on answers at all (CONTRACT §2).
func (s *Service) Enabled() bool { return s.cfg.Enabled() }

// Resource returns an add-on resource by Heroku's uuid.
func (s *Service) Resource(ctx context.Context, id string) (Resource, error) {
	return s.repo.resource(ctx, id)
}

// owner is the principal provisioning acts as inside a resource's organisation:
// an admin without a user row, recorded in the audit log as "heroku".
func owner(orgID string) account.Principal {
	return account.Principal{OrgID: orgID, Role: account.RoleAdmin, Email: "heroku", Via: "heroku"}
}

var appNameRE = regexp.MustCompile(`^[a-z][a-z0-9-]{1,29}$`)

// target is where the API sends traffic, when the request says.
type target struct {
	appName, backendURL string
}

// readOptions understands `--app NAME` and `--backend_url URL` (also
// `backend`); other options are ignored, and non-string values refused only
// for the options Portico reads.
func readOptions(opts map[string]any) (target, error) {
	str := func(key string) (string, error) {
		v, ok := opts[key]
		if !ok || v == nil {
			return "", nil
		}
		s, ok := v.(string)
		if !ok {
			return "", refuse(http.StatusUnprocessableEntity, "The option %s must be a string.", key)
		}
		return strings.TrimSpace(s), nil
	}
	var t target
	app, err := str("app")
	if err != nil {
		return t, err
	}
	if app != "" {
		app = strings.ToLower(app)
		if !appNameRE.MatchString(app) {
			return t, refuse(http.StatusUnprocessableEntity, "The option app must be a Heroku app name (lower-case letters, digits and dashes).")
		}
		t.appName, t.backendURL = app, "https://"+app+".herokuapp.com"
	}
	for _, key := range []string{"backend_url", "backend"} {
		b, err := str(key)
		if err != nil {
			return t, err
		}
		if b == "" {
			continue
		}
		u, perr := url.Parse(b)
		if perr != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.Fragment != "" {
			return t, refuse(http.StatusUnprocessableEntity, "The option %s must be an absolute http:// or https:// URL without credentials.", key)
		}
		t.backendURL = strings.TrimRight(b, "/")
		break
	}
	return t, nil
}

// Provision answers a provision request: the stored first answer when the uuid
// is known, else a new organisation, its API and (for async plans or when work
// is left for Heroku's API) a durable job.
func (s *Service) Provision(ctx context.Context, in ProvisionRequest) (Answer, error) {
	id := strings.ToLower(strings.TrimSpace(in.UUID))
	if _, err := uuid.Parse(id); err != nil || len(id) != 36 {
		return Answer{}, refuse(http.StatusUnprocessableEntity, "The request has no valid uuid.")
	}
	plan, ok := PlanNamed(in.Plan)
	if !ok {
		return Answer{}, refuse(http.StatusUnprocessableEntity, "Unknown plan %q: Portico's plans are test, starter and pro.", in.Plan)
	}
	tgt, err := readOptions(in.Options)
	if err != nil {
		return Answer{}, err
	}
	if res, err := s.repo.resource(ctx, id); err == nil {
		return s.replay(res)
	} else if !errors.Is(err, errNoResource) {
		return Answer{}, err
	}

	base := account.Slugify(tgt.appName)
	if base == "" {
		base = account.Slugify(in.Name)
	}
	// The whole uuid (39 characters, within the 40 a slug may have): a prefix
	// is shared by other add-ons often enough to fail a provision for good
	// (FuzzProvision found two uuids with the same first 12 digits).
	fallback := "heroku-" + strings.ReplaceAll(id, "-", "")
	names := []string{fallback}
	if base != "" && base != fallback {
		names = []string{strings.Trim(truncate(base, 40), "-"), fallback}
	}
	var ans Answer
	for i, name := range names {
		ans, err = s.provision(ctx, id, name, in, plan, tgt)
		if err == nil {
			break
		}
		// A duplicate delivered at the same moment wins the uuid: replay it.
		if res, rerr := s.repo.resource(ctx, id); rerr == nil {
			return s.replay(res)
		}
		// A taken or reserved slug or context: the uuid-based names are unique.
		k := apperr.KindOf(err)
		if i == len(names)-1 || (k != apperr.KindConflict && k != apperr.KindInvalid) {
			return Answer{}, err
		}
		s.log.InfoContext(ctx, "heroku: name taken, provisioning under the uuid-based name", "uuid", id, "name", name, "err", err)
	}
	s.wake()
	return ans, nil
}

// provision makes everything in one transaction, so a failure leaves nothing.
func (s *Service) provision(ctx context.Context, id, name string, in ProvisionRequest, plan Plan, tgt target) (Answer, error) {
	var ans Answer
	err := s.st.InTx(ctx, func(ctx context.Context) error {
		orgName := in.Name
		if strings.TrimSpace(orgName) == "" {
			orgName = name
		}
		org, err := s.accounts.CreateOrg(ctx, truncate(orgName, 100), name)
		if err != nil {
			return err
		}
		if err := s.catalog.EnsureTiers(ctx, org.ID); err != nil {
			return err
		}
		p := owner(org.ID)
		secret := secrets.Token("", 32)
		apiName := "Heroku app " + name
		if tgt.appName != "" {
			apiName = "Heroku app " + tgt.appName
		}
		desc := "The managed gateway in front of a Heroku app, provisioned by the Portico add-on " + in.Name + "."
		input := catalog.APIInput{
			Name: &apiName, Context: name, Version: APIVersion, Description: &desc,
			BackendAuth:    &catalog.BackendAuth{Type: "header", Header: SecretHeader, Value: secret},
			Auth:           &[]string{catalog.AuthAPIKey},
			Tiers:          &[]string{plan.Tier},
			TimeoutMS:      ptr(apiTimeoutMS),
			DefaultVersion: ptr(true),
		}
		if tgt.backendURL != "" {
			input.BackendURL = &tgt.backendURL
		}
		api, err := s.catalog.CreateAPI(ctx, p, input)
		if err != nil {
			return err
		}
		if tgt.backendURL != "" && !plan.Async {
			if _, err := s.catalog.ChangeState(ctx, p, api.ID, catalog.ActionPublish, false); err != nil {
				return err
			}
		}
		now := s.now()
		resp := ProvisionResponse{ID: id}
		state := StateProvisioned
		switch {
		case plan.Async:
			ans.Status, state = http.StatusAccepted, StateProvisioning
			resp.Message = "Provisioning Portico: your gateway goes live once your app answers; the config vars follow."
		default:
			ans.Status = http.StatusOK
			resp.Config = map[string]string{VarURL: s.catalog.GatewayURL(api), VarBackendSecret: secret}
			resp.Message = "Portico is ready: call your app through " + VarURL + " with an API key; refuse calls without " + SecretHeader + "."
			if tgt.backendURL == "" {
				resp.Message = "Portico is ready: the gateway goes live at " + VarURL + " as soon as it has found your app."
			}
		}
		ans.Body = resp
		body, err := json.Marshal(resp)
		if err != nil {
			return err
		}
		res := Resource{UUID: id, Name: truncate(in.Name, 200), Plan: plan.Name, Region: truncate(in.Region, 100), State: state,
			OrgID: org.ID, APIID: api.ID, AppName: tgt.appName, BackendURL: tgt.backendURL,
			ResponseStatus: ans.Status, ResponseBody: s.sealer.Seal(body), CreatedAt: now, UpdatedAt: now}
		if g := in.OAuthGrant; g != nil && g.Code != "" {
			res.GrantCode = s.sealer.Seal([]byte(g.Code))
			if t, ok := parseHerokuTime(g.ExpiresAt); ok {
				res.GrantExpiresAt = &t
			}
		}
		if err := s.repo.createResource(ctx, &res); err != nil {
			return err
		}
		kind := ""
		switch {
		case plan.Async:
			kind = jobProvision
		case tgt.backendURL == "" || (res.GrantCode != "" && s.cfg.ClientSecret != ""):
			kind = jobSetup
		}
		if kind != "" {
			if err := s.repo.createJob(ctx, &job{Row: outbox.NewRow(account.NewID(), kind, now), ResourceUUID: id,
				Deadline: now.Add(s.jobDeadline)}); err != nil {
				return err
			}
		}
		return s.accounts.Audit(ctx, p, "heroku.provision", "heroku_resource", id,
			map[string]any{"plan": plan.Name, "region": in.Region, "api_id": api.ID, "async": plan.Async})
	})
	return ans, err
}

// replay answers a repeated provision request with the first answer.
func (s *Service) replay(res Resource) (Answer, error) {
	b, err := s.sealer.Open(res.ResponseBody)
	if err != nil {
		return Answer{}, fmt.Errorf("heroku: stored answer of %s: %w", res.UUID, err)
	}
	var body ProvisionResponse
	if err := json.Unmarshal(b, &body); err != nil {
		return Answer{}, fmt.Errorf("heroku: stored answer of %s: %w", res.UUID, err)
	}
	return Answer{Status: res.ResponseStatus, Body: body}, nil
}

// live returns a resource the partner API may change: unknown → 404,
// deprovisioned → 410.
func (s *Service) live(ctx context.Context, id string) (Resource, error) {
	res, err := s.repo.resource(ctx, strings.ToLower(strings.TrimSpace(id)))
	if errors.Is(err, errNoResource) {
		return Resource{}, refuse(http.StatusNotFound, "resource not found")
	}
	if err != nil {
		return Resource{}, err
	}
	if res.State == StateDeprovisioned {
		return Resource{}, refuse(http.StatusGone, "resource deprovisioned")
	}
	return res, nil
}

// ChangePlan moves a resource's API to the new plan's tier. The same plan is a
// logged no-op (Heroku repeats a change it believes failed).
func (s *Service) ChangePlan(ctx context.Context, id, planName string) (Answer, error) {
	res, err := s.live(ctx, id)
	if err != nil {
		return Answer{}, err
	}
	plan, ok := PlanNamed(planName)
	if !ok {
		return Answer{}, refuse(http.StatusUnprocessableEntity, "Unknown plan %q: Portico's plans are test, starter and pro.", planName)
	}
	if plan.Name == res.Plan {
		s.log.InfoContext(ctx, "heroku: plan change to the current plan", "uuid", res.UUID, "plan", plan.Name)
		return Answer{Status: http.StatusOK, Body: map[string]string{"message": "Already on the " + plan.Name + " plan."}}, nil
	}
	from := res.Plan
	err = s.st.InTx(ctx, func(ctx context.Context) error {
		p := owner(res.OrgID)
		if res.APIID != "" {
			_, err := s.catalog.UpdateAPI(ctx, p, res.APIID, catalog.APIInput{Tiers: &[]string{plan.Tier}})
			if err != nil && !errors.Is(err, catalog.ErrAPINotFound) {
				return err
			}
		}
		if err := s.repo.updateResource(ctx, res.UUID, map[string]any{"plan": plan.Name, "updated_at": s.now()}); err != nil {
			return err
		}
		return s.accounts.Audit(ctx, p, "heroku.plan_change", "heroku_resource", res.UUID, map[string]any{"from": from, "to": plan.Name})
	})
	if err != nil {
		return Answer{}, err
	}
	return Answer{Status: http.StatusOK, Body: map[string]string{"message": "Moved from " + from + " to " + plan.Name + "."}}, nil
}

// Deprovision takes down every API of the resource's organisation, disables its
// users (their sessions end with them), cancels pending jobs and forgets the
// Platform API tokens. The organisation's records stay for the retention policy;
// the resource answers 410 from then on.
func (s *Service) Deprovision(ctx context.Context, id string) (Answer, error) {
	res, err := s.live(ctx, id)
	if err != nil {
		return Answer{}, err
	}
	err = s.st.InTx(ctx, func(ctx context.Context) error {
		now := s.now()
		p := owner(res.OrgID)
		if err := s.repo.cancelJobs(ctx, res.UUID, now); err != nil {
			return err
		}
		if err := s.takeDownAPIs(ctx, p); err != nil {
			return err
		}
		if err := s.accounts.SuspendOrg(ctx, p, res.OrgID); err != nil {
			return err
		}
		if err := s.repo.updateResource(ctx, res.UUID, map[string]any{
			"state": StateDeprovisioned, "deprovisioned_at": now, "updated_at": now,
			"grant_code": "", "access_token": "", "refresh_token": "", "token_expires_at": nil,
		}); err != nil {
			return err
		}
		return s.accounts.Audit(ctx, p, "heroku.deprovision", "heroku_resource", res.UUID, nil)
	})
	if err != nil {
		return Answer{}, err
	}
	return Answer{Status: http.StatusNoContent}, nil
}

// takeDownAPIs walks each API of the organisation down the lifecycle graph to a
// deletable state and deletes it, so the gateway stops serving it at once.
func (s *Service) takeDownAPIs(ctx context.Context, p account.Principal) error {
	after := ""
	for {
		apis, err := s.catalog.ListAPIs(ctx, p, catalog.ListQuery{After: after, Limit: 100})
		if err != nil {
			return err
		}
		for _, a := range apis {
			var path []catalog.Action
			switch a.State {
			case catalog.StatePublished, catalog.StatePrototyped:
				path = []catalog.Action{catalog.ActionDemote}
			case catalog.StateBlocked:
				path = []catalog.Action{catalog.ActionDeprecate, catalog.ActionRetire}
			case catalog.StateDeprecated:
				path = []catalog.Action{catalog.ActionRetire}
			}
			for _, act := range path {
				if _, err := s.catalog.ChangeState(ctx, p, a.ID, act, false); err != nil {
					return err
				}
			}
			if err := s.catalog.DeleteAPI(ctx, p, a.ID); err != nil {
				return err
			}
		}
		if len(apis) < 100 {
			return nil
		}
		after = apis[len(apis)-1].ID
	}
}

// parseHerokuTime reads Heroku's timestamps ("2016-03-03T18:01:31-0800" as
// well as RFC 3339).
func parseHerokuTime(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05-0700", "2006-01-02 15:04:05 -0700"} {
		if t, err := time.Parse(layout, strings.TrimSpace(s)); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// truncate cuts s to at most n bytes without splitting a character.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func ptr[T any](v T) *T { return &v }

// tokenHash names an SSO token in the replay table.
func tokenHash(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(sum[:])
}
