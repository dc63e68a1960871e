package access

import (
	"strings"

	"portico/internal/platform/apperr"
)

// AppTier is an application-level limit: every call of one application, across
// all the APIs it is subscribed to, counts against it.
type AppTier struct {
	Name     string `json:"name"`
	Requests int64  `json:"requests"` // 0: unlimited
	Per      string `json:"per"`
}

// AppTiers are the built-in application tiers (WSO2's application policies).
var AppTiers = []AppTier{
	{Name: "Unlimited"},
	{Name: "10PerMin", Requests: 10, Per: "minute"},
	{Name: "20PerMin", Requests: 20, Per: "minute"},
	{Name: "50PerMin", Requests: 50, Per: "minute"},
}

// DefaultAppTier is the tier of an application that names none.
const DefaultAppTier = "Unlimited"

// AppTierByName finds a built-in application tier.
func AppTierByName(name string) (AppTier, bool) {
	for _, t := range AppTiers {
		if t.Name == name {
			return t, true
		}
	}
	return AppTier{}, false
}

func checkAppTier(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return DefaultAppTier, nil
	}
	if _, ok := AppTierByName(name); !ok {
		names := make([]string, len(AppTiers))
		for i, t := range AppTiers {
			names[i] = t.Name
		}
		return "", apperr.Invalid("tier", "invalid_tier", "An application's tier is one of "+strings.Join(names, ", ")+".")
	}
	return name, nil
}
