// Package access owns what lets a developer's software call APIs: applications
// (each one an OAuth 2.0 client with a client_id and a hashed client secret),
// and later their API keys and subscriptions.
//
// Tables: applications. access imports config, platform, store and account
// (principals, audit). The oauth module reads applications as its clients
// through ClientByID and verifies secrets with the same SecretHasher.
package access
