// Package billing charges for paid tiers through Stripe (CONTRACT §9): a
// Stripe customer per organisation, a Stripe product and monthly-fee price per
// paid tier, a Stripe subscription (with its own Billing Meter and per-call
// price when the tier charges per call) per paid Portico subscription, hourly
// usage reports from the analytics rollups, the organisation's invoices, and
// the webhook at POST /billing/stripe/webhook that suspends an organisation's
// paid subscriptions on a failed payment and restores them when it is paid.
//
// Stripe is never called inside a database transaction. The payment gate
// (access.PaymentGate) only records the intent; an outbox worker makes the
// Stripe calls after commit, with retries, backoff and an idempotency key per
// call, so Stripe being slow or down never blocks a subscribe call or the
// gateway. Usage reports are written ahead (pending) in the transaction that
// moves the subscription's high-water mark, then sent with an identifier per
// subscription and hour, so a crash between Stripe's answer and the database
// write resends the same report and Stripe counts it once.
//
// Tables: billing_tiers, billing_customers, billing_subscriptions,
// billing_outbox, billing_events, billing_usage_reports.
//
// billing imports config, platform, store, account, catalog and access
// (DESIGN §2 line 6). What it needs from modules above it (the analytics
// rollups, the Heroku add-on's organisations) it declares as small interfaces
// (UsageSource, Exemption) that app implements.
package billing
