package billing

import (
	"context"
	"errors"
	"time"

	"github.com/stripe/stripe-go/v76"

	"portico/internal/account"
	"portico/internal/platform/apperr"
)

// Invoice is one of an organisation's Stripe invoices.
type Invoice struct {
	ID               string    `json:"id"`
	Number           string    `json:"number"`
	Status           string    `json:"status"`
	Currency         string    `json:"currency"`
	AmountDueCents   int64     `json:"amount_due_cents"`
	AmountPaidCents  int64     `json:"amount_paid_cents"`
	TotalCents       int64     `json:"total_cents"`
	PeriodStart      time.Time `json:"period_start"`
	PeriodEnd        time.Time `json:"period_end"`
	Created          time.Time `json:"created"`
	HostedInvoiceURL string    `json:"hosted_invoice_url"`
	InvoicePDF       string    `json:"invoice_pdf"`
}

// errNotPaid answers a billing question about a free (or Heroku-billed)
// subscription.
var errNotPaid = apperr.NotFound("billing subscription")

// IsNotPaid reports whether err says a subscription has no billing side (a
// free tier, or an organisation billed elsewhere).
func IsNotPaid(err error) bool { return errors.Is(err, errNotPaid) }

// errStripeDown answers when Stripe cannot be reached.
var errStripeDown = apperr.Unavailable("stripe_unavailable", "Stripe does not answer; try again in a minute.")

// Invoices lists the caller's organisation's invoices, newest first, as
// Stripe holds them: at most limit, after the invoice id after. An
// organisation that never paid for anything (or billing off) has none.
func (s *Service) Invoices(ctx context.Context, actor account.Principal, after string, limit int) ([]Invoice, error) {
	if !s.Enabled() {
		return nil, nil
	}
	c, err := s.repo.customer(ctx, actor.OrgID)
	if errors.Is(err, errNoCustomer) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Invoice
	err = s.stripe.call(ctx, "invoice list", func() error {
		out = out[:0]
		p := &stripe.InvoiceListParams{Customer: stripe.String(c.CustomerID)}
		p.Context = ctx
		p.Limit = stripe.Int64(int64(limit))
		p.Single = true
		if after != "" {
			p.StartingAfter = stripe.String(after)
		}
		it := s.stripe.api.Invoices.List(p)
		for it.Next() && len(out) < limit {
			out = append(out, invoiceOf(it.Invoice()))
		}
		return it.Err()
	})
	if err != nil {
		var se *stripe.Error
		if errors.As(err, &se) && se.HTTPStatusCode == 404 && after != "" {
			return nil, apperr.Invalid("cursor", "invalid_cursor", "cursor is not one this server handed out; start again without it.")
		}
		s.log.WarnContext(ctx, "billing: listing invoices failed", "err", err)
		return nil, errStripeDown
	}
	return out, nil
}

func invoiceOf(in *stripe.Invoice) Invoice {
	unix := func(t int64) time.Time {
		if t == 0 {
			return time.Time{}
		}
		return time.Unix(t, 0).UTC()
	}
	return Invoice{ID: in.ID, Number: in.Number, Status: string(in.Status), Currency: string(in.Currency),
		AmountDueCents: in.AmountDue, AmountPaidCents: in.AmountPaid, TotalCents: in.Total,
		PeriodStart: unix(in.PeriodStart), PeriodEnd: unix(in.PeriodEnd), Created: unix(in.Created),
		HostedInvoiceURL: in.HostedInvoiceURL, InvoicePDF: in.InvoicePDF}
}
