package access

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"portico/internal/account"
	"portico/internal/platform/apperr"
	"portico/internal/platform/httpx"
)

// KeyJSON is an API key as the API shows it; Key only in the answer that made it.
type KeyJSON struct {
	ID            string     `json:"id"`
	Key           string     `json:"key,omitempty"`
	ApplicationID string     `json:"application_id"`
	Name          string     `json:"name"`
	Prefix        string     `json:"prefix"`
	CreatedAt     time.Time  `json:"created_at"`
	ExpiresAt     *time.Time `json:"expires_at"`
}

func keyJSON(k APIKey, key string) KeyJSON {
	return KeyJSON{ID: k.ID, Key: key, ApplicationID: k.ApplicationID, Name: k.Name, Prefix: k.Prefix, CreatedAt: k.CreatedAt, ExpiresAt: k.ExpiresAt}
}

func (a *API) createKey(c echo.Context) error {
	var in NewKey
	if c.Request().ContentLength != 0 { // the body is optional
		if err := httpx.BindJSON(c, &in); err != nil {
			return err
		}
	}
	k, key, err := a.svc.CreateKey(c.Request().Context(), account.Caller(c), c.Param("id"), in)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusCreated, keyJSON(k, key))
}

func (a *API) listKeys(c echo.Context) error {
	ks, err := a.svc.Keys(c.Request().Context(), account.Caller(c), c.Param("id"))
	if err != nil {
		return err
	}
	items := make([]KeyJSON, len(ks))
	for i, k := range ks {
		items[i] = keyJSON(k, "")
	}
	return c.JSON(http.StatusOK, httpx.List[KeyJSON]{Items: items})
}

func (a *API) revokeKey(c echo.Context) error {
	if err := a.svc.RevokeKey(c.Request().Context(), account.Caller(c), c.Param("id"), c.Param("key_id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// SubscriptionJSON is a subscription as the API shows it.
type SubscriptionJSON struct {
	ID            string    `json:"id"`
	ApplicationID string    `json:"application_id"`
	APIID         string    `json:"api_id"`
	Tier          string    `json:"tier"`
	Status        string    `json:"status"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

func subscriptionJSON(s Subscription) SubscriptionJSON {
	return SubscriptionJSON{ID: s.ID, ApplicationID: s.ApplicationID, APIID: s.APIID, Tier: s.Tier, Status: s.Status, CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt}
}

func (a *API) subscribe(c echo.Context) error {
	var in NewSubscription
	if err := httpx.BindJSON(c, &in); err != nil {
		return err
	}
	sub, err := a.svc.Subscribe(c.Request().Context(), account.Caller(c), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, subscriptionJSON(sub))
}

func (a *API) listSubscriptions(c echo.Context) error {
	page, err := httpx.ParsePage(c)
	if err != nil {
		return err
	}
	q := SubscriptionQuery{ApplicationID: c.QueryParam("application_id"), APIID: c.QueryParam("api_id"),
		Status: c.QueryParam("status"), After: page.After, Limit: page.Limit + 1}
	switch q.Status {
	case "", StatusActive, StatusPending, StatusRejected, StatusBlocked, StatusSuspended:
	default:
		return apperr.Invalid("status", "invalid_status", "status must be ACTIVE, PENDING, REJECTED, BLOCKED or SUSPENDED.")
	}
	subs, err := a.svc.Subscriptions(c.Request().Context(), account.Caller(c), q)
	if err != nil {
		return err
	}
	items := make([]SubscriptionJSON, len(subs))
	for i, s := range subs {
		items[i] = subscriptionJSON(s)
	}
	return c.JSON(http.StatusOK, httpx.NewList(page, items, func(s SubscriptionJSON) string { return s.ID }))
}

func (a *API) getSubscription(c echo.Context) error {
	sub, err := a.svc.Subscription(c.Request().Context(), account.Caller(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, subscriptionJSON(sub))
}

func (a *API) unsubscribe(c echo.Context) error {
	if err := a.svc.Unsubscribe(c.Request().Context(), account.Caller(c), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (a *API) moderate(action string) echo.HandlerFunc {
	return func(c echo.Context) error {
		sub, err := a.svc.Moderate(c.Request().Context(), account.Caller(c), c.Param("id"), action)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, subscriptionJSON(sub))
	}
}
