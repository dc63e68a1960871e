package access

import (
	"context"
	"fmt"
	"strings"

	"portico/internal/account"
	"portico/internal/platform/apperr"
)

// ApplicationChange is what a developer may change on an application after it is
// made: its name, description and callback URLs. Nil fields stay as they are.
// The client id, client type and grants never change (rotate the secret, or make
// a new application).
type ApplicationChange struct {
	Name         *string   `json:"name"`
	Description  *string   `json:"description"`
	CallbackURLs *[]string `json:"callback_urls"`
	// Tier changes the application-level limit (a built-in AppTiers name).
	Tier *string `json:"tier"`
}

// Update changes an application the caller may see. A name another of the
// owner's applications holds is refused with application_name_taken. A new tier
// bumps the config version: the gateway enforces it within a second.
func (s *Service) Update(ctx context.Context, actor account.Principal, id string, in ApplicationChange) (Application, error) {
	var app Application
	err := s.st.InTx(ctx, func(ctx context.Context) error {
		var err error
		app, err = s.repo.byID(ctx, actor.OrgID, scope(actor), id)
		if err != nil {
			return err
		}
		changed := map[string]any{}
		if in.Name != nil {
			name := strings.TrimSpace(*in.Name)
			if name == "" || len(name) > MaxNameLen {
				return apperr.Invalid("name", "invalid_name", fmt.Sprintf("Give the application a name of 1 to %d characters.", MaxNameLen))
			}
			app.Name, changed["name"] = name, name
		}
		if in.Description != nil {
			d := strings.TrimSpace(*in.Description)
			if len(d) > MaxDescriptionLen {
				return apperr.Invalid("description", "invalid_description", fmt.Sprintf("The description is at most %d characters.", MaxDescriptionLen))
			}
			app.Description, changed["description"] = d, d
		}
		if in.Tier != nil {
			tier, err := checkAppTier(*in.Tier)
			if err != nil {
				return err
			}
			app.Tier, changed["tier"] = tier, tier
		}
		if in.CallbackURLs != nil {
			if len(*in.CallbackURLs) > MaxCallbackURLs {
				return apperr.Invalid("callback_urls", "too_many_callback_urls", fmt.Sprintf("An application has at most %d callback URLs.", MaxCallbackURLs))
			}
			urls := StringList{}
			for _, u := range *in.CallbackURLs {
				u = strings.TrimSpace(u)
				if err := checkCallbackURL(u); err != nil {
					return err
				}
				urls = append(urls, u)
			}
			app.CallbackURLs, changed["callback_urls"] = urls, urls
		}
		if len(changed) == 0 {
			return nil
		}
		app.UpdatedAt = s.now()
		changed["updated_at"] = app.UpdatedAt
		if err := s.repo.update(ctx, app.OrgID, app.ID, changed); err != nil {
			return err
		}
		if _, ok := changed["tier"]; ok { // the gateway enforces it
			if _, err := s.st.BumpConfigVersion(ctx); err != nil {
				return err
			}
		}
		return s.accounts.Audit(ctx, actor, "application.update", "application", app.ID, map[string]any{"name": app.Name, "tier": app.Tier})
	})
	if err != nil {
		return Application{}, err
	}
	return app, nil
}

// SubscriptionDetail is a subscription with the names people recognise it by:
// its application (and owner) and its API, read in one query.
type SubscriptionDetail struct {
	Subscription
	ApplicationName string
	OwnerEmail      string
	APIName         string
	APIVersion      string
	APIContext      string
	APIState        string
}

// SubscriptionDetails lists the subscriptions the caller may see (developers
// their applications', publishers and admins their organisation's) with
// application, owner and API names, in one query whatever the page size.
func (s *Service) SubscriptionDetails(ctx context.Context, actor account.Principal, q SubscriptionQuery) ([]SubscriptionDetail, error) {
	return s.repo.subscriptionDetails(ctx, actor.OrgID, subScope(actor), q)
}
