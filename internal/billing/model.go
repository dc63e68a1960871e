package billing

import (
	"time"

	"portico/internal/store/outbox"
)

// States of a billing subscription (billing_subscriptions.state).
const (
	StateStarting  = "starting"
	StateCheckout  = "checkout"
	StateActive    = "active"
	StateCanceling = "canceling"
	StateCanceled  = "canceled"
)

// tierPrice is the Stripe product and fee price of a paid tier.
type tierPrice struct {
	TierID     string `gorm:"primaryKey"`
	OrgID      string
	ProductID  string
	FeePriceID string
	FeeCents   int64
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

func (tierPrice) TableName() string { return "billing_tiers" }

// customer is an organisation's Stripe customer.
type customer struct {
	OrgID      string `gorm:"primaryKey"`
	CustomerID string
	CreatedAt  time.Time
}

func (customer) TableName() string { return "billing_customers" }

// Subscription is the Stripe side of one paid Portico subscription.
type Subscription struct {
	SubscriptionID       string `gorm:"primaryKey"`
	OrgID                string
	TierID               string
	APIID                string `gorm:"column:api_id"`
	ApplicationID        string
	State                string
	Held                 bool
	FeeCents             int64
	PerCallCents         int64
	StripeSubscriptionID string
	StripeStatus         string
	MeterID              string
	MeterEventName       string
	MeteredPriceID       string
	CheckoutSessionID    string
	CheckoutURL          string
	UsageFrom            time.Time
	CreatedAt            time.Time
	UpdatedAt            time.Time
}

// TableName pins the table name.
func (Subscription) TableName() string { return "billing_subscriptions" }

// Metered reports whether the subscription is charged per call.
func (s Subscription) Metered() bool { return s.PerCallCents > 0 }

// Outbox job kinds.
const (
	jobStart    = "subscription.start"  // customer, prices, then checkout or the Stripe subscription
	jobCheckout = "checkout.completed"  // the payment method from a setup session, then the Stripe subscription
	jobCancel   = "subscription.cancel" // the Portico subscription is gone: cancel at period end
)

// job is one outbox entry.
type job struct {
	outbox.Row
	Ref     string // the Portico subscription id
	Payload string // JSON
}

func (job) TableName() string { return "billing_outbox" }

// event is a handled webhook event.
type event struct {
	EventID    string `gorm:"primaryKey"`
	Type       string
	ReceivedAt time.Time
}

func (event) TableName() string { return "billing_events" }

// Usage report states.
const (
	reportPending = "pending"
	reportSent    = "sent"
)

// usageReport is one hour of one subscription's calls.
type usageReport struct {
	SubscriptionID string    `gorm:"primaryKey"`
	Hour           time.Time `gorm:"primaryKey"`
	Quantity       int64
	Identifier     string
	State          string
	Attempts       int
	CreatedAt      time.Time
	SentAt         *time.Time
}

func (usageReport) TableName() string { return "billing_usage_reports" }
