-- Billing with Stripe (internal/billing): the Stripe objects behind paid tiers,
-- organisations and paid subscriptions, the outbox of Stripe calls made after
-- commit, the webhook events already handled, and the hourly usage reports with
-- their high-water marks. Amounts are integer cents (USD).

-- +goose Up

-- The Stripe product and monthly-fee price of a paid tier. fee_cents is what
-- fee_price_id charges: when the tier's fee changes, a new price is made.
CREATE TABLE billing_tiers (
    tier_id      TEXT PRIMARY KEY REFERENCES tiers (id) ON DELETE CASCADE,
    org_id       TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    product_id   TEXT NOT NULL DEFAULT '',
    fee_price_id TEXT NOT NULL DEFAULT '',
    fee_cents    BIGINT NOT NULL DEFAULT 0,
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL
);

-- An organisation's Stripe customer, made once.
CREATE TABLE billing_customers (
    org_id      TEXT PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
    customer_id TEXT NOT NULL UNIQUE,
    created_at  TIMESTAMP NOT NULL
);

-- The Stripe side of one paid Portico subscription. subscription_id has no
-- foreign key: the row is written by the payment gate inside the subscribe
-- transaction, before the subscriptions row, and outlives it until Stripe ends
-- the Stripe subscription (unsubscribing cancels at period end).
-- state: starting (outbox job pending), checkout (waiting for a payment method
-- through Stripe Checkout), active (Stripe subscription made), canceling (cancel
-- at period end asked), canceled (Stripe ended it).
-- held: billing moved the Portico subscription to PENDING until Stripe says the
-- Stripe subscription is active.
-- usage_from: the high-water mark, the start of the first hour whose calls are
-- not yet turned into a usage report.
CREATE TABLE billing_subscriptions (
    subscription_id        TEXT PRIMARY KEY,
    org_id                 TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    tier_id                TEXT NOT NULL,
    api_id                 TEXT NOT NULL,
    application_id         TEXT NOT NULL,
    state                  TEXT NOT NULL CHECK (state IN ('starting', 'checkout', 'active', 'canceling', 'canceled')),
    held                   BOOLEAN NOT NULL DEFAULT FALSE,
    fee_cents              BIGINT NOT NULL DEFAULT 0,
    per_call_cents         BIGINT NOT NULL DEFAULT 0,
    stripe_subscription_id TEXT NOT NULL DEFAULT '',
    stripe_status          TEXT NOT NULL DEFAULT '',
    meter_id               TEXT NOT NULL DEFAULT '',
    meter_event_name       TEXT NOT NULL DEFAULT '',
    metered_price_id       TEXT NOT NULL DEFAULT '',
    checkout_session_id    TEXT NOT NULL DEFAULT '',
    checkout_url           TEXT NOT NULL DEFAULT '',
    usage_from             TIMESTAMP NOT NULL,
    created_at             TIMESTAMP NOT NULL,
    updated_at             TIMESTAMP NOT NULL
);
CREATE INDEX billing_subscriptions_org ON billing_subscriptions (org_id, state);
CREATE INDEX billing_subscriptions_stripe ON billing_subscriptions (stripe_subscription_id);

-- The outbox: Stripe calls decided inside a transaction and made after commit
-- by a worker, with retries and backoff. A worker claims a due job by setting
-- locked_until, so two nodes never run one job at once; a crashed node's claim
-- lapses. Every Stripe write a job makes carries an idempotency key derived
-- from the job, so a job run twice never makes two Stripe objects.
CREATE TABLE billing_outbox (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    ref          TEXT NOT NULL,
    payload      TEXT NOT NULL DEFAULT '{}',
    state        TEXT NOT NULL CHECK (state IN ('pending', 'done', 'failed')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    run_at       TIMESTAMP NOT NULL,
    locked_until TIMESTAMP NULL,
    last_error   TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL
);
CREATE INDEX billing_outbox_due ON billing_outbox (state, run_at);

-- Webhook events already handled (Stripe delivers at least once).
CREATE TABLE billing_events (
    event_id    TEXT PRIMARY KEY,
    type        TEXT NOT NULL,
    received_at TIMESTAMP NOT NULL
);

-- One hour of one subscription's calls, as reported to Stripe as a Billing
-- Meter event. The row is written (pending) in the same transaction that moves
-- the subscription's high-water mark past the hour, before Stripe is called;
-- identifier is the meter event's identifier and the idempotency key, so a
-- resend after a crash is recognised by Stripe and never bills twice.
CREATE TABLE billing_usage_reports (
    subscription_id TEXT NOT NULL,
    hour            TIMESTAMP NOT NULL,
    quantity        BIGINT NOT NULL,
    identifier      TEXT NOT NULL UNIQUE,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'sent')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    created_at      TIMESTAMP NOT NULL,
    sent_at         TIMESTAMP NULL,
    PRIMARY KEY (subscription_id, hour)
);
CREATE INDEX billing_usage_reports_pending ON billing_usage_reports (state, hour);

-- +goose Down
DROP TABLE billing_usage_reports;
DROP TABLE billing_events;
DROP TABLE billing_outbox;
DROP TABLE billing_subscriptions;
DROP TABLE billing_customers;
DROP TABLE billing_tiers;
