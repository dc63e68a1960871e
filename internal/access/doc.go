// Package access owns what lets a developer's software call APIs: applications
// (each one an OAuth 2.0 client with a client_id and a hashed client secret),
// their API keys (stored hashed) and their subscriptions to APIs on tiers, with
// the publisher's approval where the API asks for it.
//
// Tables: applications, api_keys, subscriptions. access imports config,
// platform, store, account (principals, audit) and catalog (APIs, tiers); billing
// joins in through the PaymentGate interface it declares. The oauth module reads applications as its clients
// through ClientByID and verifies secrets with the same SecretHasher.
package access
