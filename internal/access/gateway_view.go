package access

import (
	"context"
	"time"
)

// GatewayView is what the gateway needs from this module: every application,
// every live API key (by hash) and every subscription.
type GatewayView struct {
	Applications  []Application
	Keys          []APIKey
	Subscriptions []Subscription
}

// GatewayView reads the view with ctx, so the loader's read-only transaction
// sees it consistent with the catalog and the OAuth server.
func (s *Service) GatewayView(ctx context.Context) (GatewayView, error) {
	apps, keys, subs, err := s.repo.gatewayRows(ctx, time.Now().UTC())
	return GatewayView{Applications: apps, Keys: keys, Subscriptions: subs}, err
}
