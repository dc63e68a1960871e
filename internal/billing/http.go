package billing

import (
	"io"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"portico/internal/account"
	"portico/internal/platform/apperr"
	"portico/internal/platform/httpx"
)

// MaxWebhookBytes bounds a webhook body; Stripe's events are far smaller.
const MaxWebhookBytes = 256 << 10

// API serves billing's part of /api/v1 and the Stripe webhook.
type API struct{ svc *Service }

// NewAPI returns the handlers.
func NewAPI(svc *Service) *API { return &API{svc: svc} }

// Register adds GET /invoices and GET /billing/subscriptions/{id} to the
// /api/v1 group; auth is the authentication middleware.
func (a *API) Register(g *echo.Group, auth echo.MiddlewareFunc) {
	g.GET("/invoices", a.invoices, auth)
	g.GET("/billing/subscriptions/:id", a.subscription, auth)
}

// RegisterWebhook adds POST /billing/stripe/webhook: Stripe authenticates it
// by signature, so there is no session, CSRF or token.
func (a *API) RegisterWebhook(e *echo.Echo) {
	e.POST("/billing/stripe/webhook", a.webhook)
}

func (a *API) invoices(c echo.Context) error {
	page, err := httpx.ParsePage(c)
	if err != nil {
		return err
	}
	items, err := a.svc.Invoices(c.Request().Context(), account.Caller(c), page.After, page.Limit+1)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, httpx.NewList(page, items, func(i Invoice) string { return i.ID }))
}

// SubscriptionJSON is the billing side of a paid subscription.
type SubscriptionJSON struct {
	SubscriptionID       string    `json:"subscription_id"`
	State                string    `json:"state"`
	MonthlyFeeCents      int64     `json:"monthly_fee_cents"`
	PerCallCents         int64     `json:"per_call_cents"`
	StripeSubscriptionID string    `json:"stripe_subscription_id,omitempty"`
	StripeStatus         string    `json:"stripe_status,omitempty"`
	CheckoutURL          string    `json:"checkout_url,omitempty"`
	CreatedAt            time.Time `json:"created_at"`
}

func (a *API) subscription(c echo.Context) error {
	b, err := a.svc.BillingSubscription(c.Request().Context(), account.Caller(c), c.Param("id"))
	if err != nil {
		return err
	}
	out := SubscriptionJSON{SubscriptionID: b.SubscriptionID, State: b.State, MonthlyFeeCents: b.FeeCents, PerCallCents: b.PerCallCents,
		StripeSubscriptionID: b.StripeSubscriptionID, StripeStatus: b.StripeStatus, CreatedAt: b.CreatedAt}
	if b.State == StateCheckout {
		out.CheckoutURL = b.CheckoutURL
	}
	return c.JSON(http.StatusOK, out)
}

func (a *API) webhook(c echo.Context) error {
	body, err := io.ReadAll(io.LimitReader(c.Request().Body, MaxWebhookBytes+1))
	if err != nil {
		return apperr.Invalid("", "unreadable_body", "The request body could not be read.")
	}
	if len(body) > MaxWebhookBytes {
		return apperr.New(apperr.KindTooLarge, "body_too_large", "The event is larger than Stripe sends.")
	}
	out, err := a.svc.HandleWebhook(c.Request().Context(), body, c.Request().Header.Get("Stripe-Signature"))
	if err != nil {
		// A bad signature is 400 and changes nothing; any other failure rolled
		// back (the event id is not stored) and Stripe retries the delivery.
		return err
	}
	return c.JSON(http.StatusOK, map[string]string{"received": "true", "outcome": string(out)})
}
