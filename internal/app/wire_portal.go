package app

import (
	"context"
	"net/url"
	"strings"
	"time"

	"portico/internal/account"
	"portico/internal/analytics"
	"portico/internal/billing"
	"portico/internal/platform/mail"
	"portico/internal/portal"
	"portico/internal/publisher"
)

// wirePortal adds the developer portal (/, /portal: log-in and sign-up pages,
// catalogue, API pages, applications, keys, subscriptions, usage) and the
// publisher's subscription moderation page. It needs the catalog, access, OAuth
// and (when wired) analytics modules.
func (a *App) wirePortal(w *web) error {
	portalGroup := w.e.Group("/portal", w.browser...)
	w.accounts.Register(portalGroup)
	w.accounts.RegisterAccount(portalGroup)
	if err := a.wireMail(); err != nil {
		return err
	}
	o := portal.Options{Accounts: a.accounts, Web: w.accounts, Renderer: w.r, Catalog: a.catalog, Access: a.access}
	if a.oauth != nil {
		o.Tokens = a.oauth
	}
	if a.analytics != nil && a.analytics.svc != nil {
		o.Usage = usageReader{a.analytics.svc}
	}
	if a.billing != nil {
		o.Invoices = invoiceReader{a.billing}
		o.Payments = invoiceReader{a.billing}
	}
	portal.NewWeb(o).Register(w.e, w.browser, portalGroup)
	publisher.NewSubscriptions(a.access, w.accounts, w.r).Register(w.e.Group("/publisher", w.browser...))
	return nil
}

// wireMail lets the account service e-mail password-reset links when SMTP_URL
// is set, from no-reply at the base URL's host.
func (a *App) wireMail() error {
	host := "localhost"
	if u, err := url.Parse(a.cfg.BaseURL); err == nil && u.Hostname() != "" {
		host = u.Hostname()
	}
	m, err := mail.New(a.cfg.SMTPURL, "Portico <no-reply@"+host+">")
	if err != nil {
		return err
	}
	a.accounts.SetMailer(m, a.cfg.BaseURL)
	return nil
}

// usageReader answers the portal's usage page from analytics: an
// application's calls and errors per API.
type usageReader struct{ svc *analytics.Service }

func (u usageReader) ApplicationUsage(ctx context.Context, actor account.Principal, appID string, from, to time.Time) ([]portal.APIUsage, error) {
	items, err := u.svc.Top(ctx, actor, analytics.Query{From: from, To: to, ApplicationID: appID, Limit: analytics.MaxTop}, analytics.ByAPI)
	if err != nil {
		return nil, err
	}
	out := make([]portal.APIUsage, len(items))
	for i, it := range items {
		out[i] = portal.APIUsage{APIID: it.ID, Name: it.Name, Requests: it.Requests, Errors: it.Errors}
	}
	return out, nil
}

// invoiceReader answers the portal's invoices page from billing.
type invoiceReader struct{ svc *billing.Service }

func (r invoiceReader) Enabled() bool { return r.svc.Enabled() }

func (r invoiceReader) OrgInvoices(ctx context.Context, actor account.Principal) ([]portal.Invoice, error) {
	invs, err := r.svc.Invoices(ctx, actor, "", 100)
	if err != nil {
		return nil, err
	}
	out := make([]portal.Invoice, len(invs))
	for i, in := range invs {
		out[i] = portal.Invoice{Number: in.Number, Status: in.Status, Currency: strings.ToUpper(in.Currency), TotalCents: in.TotalCents,
			DueCents: in.AmountDueCents, PeriodStart: in.PeriodStart, PeriodEnd: in.PeriodEnd, HostedURL: in.HostedInvoiceURL, PDFURL: in.InvoicePDF}
	}
	return out, nil
}

// Payments implements portal.PaymentReader: a Checkout link for each paid
// subscription waiting for a payment method, a note while Stripe is being
// set up or approval is awaited.
func (r invoiceReader) Payments(ctx context.Context, actor account.Principal, ids []string) (map[string]portal.Payment, error) {
	out := map[string]portal.Payment{}
	for _, id := range ids {
		b, err := r.svc.BillingSubscription(ctx, actor, id)
		if err != nil {
			if billing.IsNotPaid(err) {
				continue
			}
			return nil, err
		}
		switch {
		case b.State == billing.StateCheckout && b.CheckoutURL != "":
			out[id] = portal.Payment{CheckoutURL: b.CheckoutURL}
		case b.State == billing.StateStarting:
			out[id] = portal.Payment{Note: "Setting up the payment; reload in a moment."}
		case b.Held:
			out[id] = portal.Payment{Note: "Waiting for the payment to clear."}
		}
	}
	return out, nil
}
