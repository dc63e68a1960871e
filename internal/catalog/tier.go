package catalog

import (
	"context"
	"fmt"
	"strings"

	"portico/internal/account"
	"portico/internal/platform/apperr"
)

// BuiltinTiers are the tiers every organisation has (WSO2's defaults).
func BuiltinTiers() []Tier {
	return []Tier{
		{Name: "Unlimited", Description: "No limit on requests.", Requests: 0, Per: "minute"},
		{Name: "Gold", Description: "5000 requests a minute.", Requests: 5000, Per: "minute"},
		{Name: "Silver", Description: "2000 requests a minute.", Requests: 2000, Per: "minute"},
		{Name: "Bronze", Description: "1000 requests a minute.", Requests: 1000, Per: "minute"},
	}
}

// TierInput creates or changes a tier.
type TierInput struct {
	Name            string `json:"name"`
	Description     string `json:"description"`
	Requests        int64  `json:"requests"`
	Per             string `json:"per"`
	Burst           int64  `json:"burst"`
	MonthlyFeeCents int64  `json:"monthly_fee_cents"`
	PerCallCents    int64  `json:"per_call_cents"`
}

func checkTier(in TierInput) (Tier, error) {
	name := strings.TrimSpace(in.Name)
	if name == "" || len(name) > 60 || strings.ContainsAny(name, "\"\\\r\n") {
		return Tier{}, apperr.Invalid("name", "invalid_name", "Give the tier a name of 1 to 60 characters, without quotes or backslashes.")
	}
	if in.Requests <= 0 {
		return Tier{}, apperr.Invalid("requests", "invalid_requests", "requests must be a whole number above 0 (the built-in Unlimited tier has no limit).")
	}
	req, per, err := checkLimit("per", in.Requests, in.Per, false)
	if err != nil {
		return Tier{}, err
	}
	if in.Burst < 0 {
		return Tier{}, apperr.Invalid("burst", "invalid_burst", "burst cannot be negative.")
	}
	if in.MonthlyFeeCents < 0 || in.PerCallCents < 0 {
		field := "monthly_fee_cents"
		if in.PerCallCents < 0 {
			field = "per_call_cents"
		}
		return Tier{}, apperr.Invalid(field, "invalid_price", "Prices are whole cents, 0 or more.")
	}
	desc := strings.TrimSpace(in.Description)
	if len(desc) > 500 {
		return Tier{}, apperr.Invalid("description", "invalid_description", "The description is longer than 500 characters.")
	}
	return Tier{Name: name, Description: desc, Requests: req, Per: per, Burst: in.Burst, MonthlyFeeCents: in.MonthlyFeeCents, PerCallCents: in.PerCallCents}, nil
}

// EnsureTiers gives the organisation the built-in tiers it lacks. Tier reads call
// it, so every organisation, however it was made, sees them.
func (s *Service) EnsureTiers(ctx context.Context, orgID string) error {
	now := s.now()
	ts := BuiltinTiers()
	for i := range ts {
		ts[i].ID, ts[i].OrgID, ts[i].Builtin, ts[i].CreatedAt, ts[i].UpdatedAt = account.NewID(), orgID, true, now, now
	}
	return s.repo.ensureTiers(ctx, ts)
}

// Tiers lists the organisation's tiers: built-ins first, then by limit.
func (s *Service) Tiers(ctx context.Context, p account.Principal) ([]Tier, error) {
	ts, err := s.repo.tiers(ctx, p.OrgID)
	if err != nil || len(ts) > 0 {
		return ts, err
	}
	if err := s.EnsureTiers(ctx, p.OrgID); err != nil {
		return nil, err
	}
	return s.repo.tiers(ctx, p.OrgID)
}

// Tier returns one tier.
func (s *Service) Tier(ctx context.Context, p account.Principal, id string) (Tier, error) {
	return s.repo.tier(ctx, p.OrgID, id)
}

// CreateTier adds a custom tier.
func (s *Service) CreateTier(ctx context.Context, p account.Principal, in TierInput) (Tier, error) {
	if err := canManage(p); err != nil {
		return Tier{}, err
	}
	t, err := checkTier(in)
	if err != nil {
		return Tier{}, err
	}
	err = s.st.InTx(ctx, func(ctx context.Context) error {
		if err := s.EnsureTiers(ctx, p.OrgID); err != nil {
			return err
		}
		now := s.now()
		t.ID, t.OrgID, t.CreatedAt, t.UpdatedAt = account.NewID(), p.OrgID, now, now
		if err := s.repo.createTier(ctx, &t); err != nil {
			return err
		}
		if _, err := s.st.BumpConfigVersion(ctx); err != nil {
			return err
		}
		return s.accounts.Audit(ctx, p, "tier.create", "tier", t.ID, map[string]any{"name": t.Name})
	})
	return t, err
}

// UpdateTier changes a tier's limit, burst and prices. A built-in keeps its name.
func (s *Service) UpdateTier(ctx context.Context, p account.Principal, id string, in TierInput) (Tier, error) {
	if err := canManage(p); err != nil {
		return Tier{}, err
	}
	var out Tier
	err := s.st.InTx(ctx, func(ctx context.Context) error {
		cur, err := s.repo.tier(ctx, p.OrgID, id)
		if err != nil {
			return err
		}
		if in.Name == "" || cur.Builtin {
			in.Name = cur.Name
		}
		if cur.Builtin && cur.Requests == 0 && in.Requests == 0 {
			in.Requests = 1 // Unlimited stays unlimited; checked below with its own value
		}
		t, err := checkTier(in)
		if err != nil {
			return err
		}
		if cur.Builtin && cur.Requests == 0 {
			t.Requests = 0
		}
		if t.Name != cur.Name {
			n, err := s.repo.apisUsingTier(ctx, p.OrgID, cur.Name)
			if err != nil {
				return err
			}
			if n > 0 {
				return apperr.Conflict("tier_in_use", fmt.Sprintf("%d APIs offer %s; a tier in use keeps its name.", n, cur.Name))
			}
		}
		t.ID, t.OrgID, t.Builtin, t.CreatedAt, t.UpdatedAt = cur.ID, cur.OrgID, cur.Builtin, cur.CreatedAt, s.now()
		if err := s.repo.saveTier(ctx, &t); err != nil {
			return err
		}
		if _, err := s.st.BumpConfigVersion(ctx); err != nil {
			return err
		}
		out = t
		return s.accounts.Audit(ctx, p, "tier.update", "tier", t.ID, map[string]any{"name": t.Name})
	})
	return out, err
}

// DeleteTier removes a custom tier no API offers.
func (s *Service) DeleteTier(ctx context.Context, p account.Principal, id string) error {
	if err := canManage(p); err != nil {
		return err
	}
	return s.st.InTx(ctx, func(ctx context.Context) error {
		t, err := s.repo.tier(ctx, p.OrgID, id)
		if err != nil {
			return err
		}
		if t.Builtin {
			return ErrBuiltinTier
		}
		n, err := s.repo.apisUsingTier(ctx, p.OrgID, t.Name)
		if err != nil {
			return err
		}
		if n > 0 {
			return ErrTierInUse
		}
		if err := s.repo.deleteTier(ctx, p.OrgID, t.ID); err != nil {
			return err
		}
		if _, err := s.st.BumpConfigVersion(ctx); err != nil {
			return err
		}
		return s.accounts.Audit(ctx, p, "tier.delete", "tier", t.ID, map[string]any{"name": t.Name})
	})
}

// checkTierNames checks every name is a tier of the organisation.
func (s *Service) checkTierNames(ctx context.Context, orgID string, names []string) ([]string, error) {
	if err := s.EnsureTiers(ctx, orgID); err != nil {
		return nil, err
	}
	ts, err := s.repo.tiers(ctx, orgID)
	if err != nil {
		return nil, err
	}
	known := map[string]bool{}
	var list []string
	for _, t := range ts {
		known[t.Name] = true
		list = append(list, t.Name)
	}
	out := []string{}
	for _, n := range names {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		if !known[n] {
			return nil, apperr.Invalid("tiers", "unknown_tier", fmt.Sprintf("There is no tier %q; the organisation's tiers are: %s.", n, strings.Join(list, ", ")))
		}
		if !containsString(out, n) {
			out = append(out, n)
		}
	}
	return out, nil
}

func containsString(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// TierByName finds an organisation's tier by name (built-ins included).
func (s *Service) TierByName(ctx context.Context, orgID, name string) (Tier, error) {
	if err := s.EnsureTiers(ctx, orgID); err != nil {
		return Tier{}, err
	}
	ts, err := s.repo.tiers(ctx, orgID)
	if err != nil {
		return Tier{}, err
	}
	for _, t := range ts {
		if t.Name == name {
			return t, nil
		}
	}
	return Tier{}, ErrTierNotFound
}
