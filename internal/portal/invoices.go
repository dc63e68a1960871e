package portal

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"portico/internal/account"
	"portico/internal/platform/render"
)

const pageInvoices = "portal/invoices"

// Invoice is one of the organisation's invoices as Stripe holds it.
type Invoice struct {
	Number, Status, Currency string
	TotalCents, DueCents     int64
	PeriodStart, PeriodEnd   time.Time
	HostedURL, PDFURL        string
}

// Amount formats the total for people ("12.50 USD").
func (i Invoice) Amount() string {
	return fmt.Sprintf("%d.%02d %s", i.TotalCents/100, i.TotalCents%100, i.Currency)
}

// InvoiceLister lists the caller's organisation's invoices (billing implements
// it); Enabled says whether billing is set up at all.
type InvoiceLister interface {
	Enabled() bool
	OrgInvoices(ctx context.Context, actor account.Principal) ([]Invoice, error)
}

// Payment is what the portal tells a developer about a paid subscription
// waiting for its payment: a Stripe Checkout link to follow, or a note that
// the payment is being set up.
type Payment struct {
	CheckoutURL string
	Note        string
}

// PaymentReader tells the payment state of the caller's pending subscriptions
// (billing implements it); subscriptions with nothing to pay are left out.
type PaymentReader interface {
	Payments(ctx context.Context, actor account.Principal, subscriptionIDs []string) (map[string]Payment, error)
}

type invoicesView struct {
	render.Base
	PortalPath string
	Enabled    bool
	Invoices   []Invoice
}

// invoices lists the organisation's invoices, newest first, with Stripe's hosted
// page and PDF.
func (w *Web) invoices(c echo.Context) error {
	org, me, err := w.orgMember(c)
	if err != nil {
		return err
	}
	base, err := w.base(c, "invoices", "Invoices", org)
	if err != nil {
		return err
	}
	v := invoicesView{Base: base, PortalPath: "/portal/" + org.Slug}
	if w.invoiceLister != nil && w.invoiceLister.Enabled() {
		v.Enabled = true
		if v.Invoices, err = w.invoiceLister.OrgInvoices(ctxOf(c), me); err != nil {
			return err
		}
	}
	return w.r.Page(c.Response(), http.StatusOK, pageInvoices, v)
}
