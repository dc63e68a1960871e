// Package snapshot is the gateway's immutable, compiled view of the configuration:
// routes by context and version, operations with their scopes, API keys by hash,
// subscriptions, tiers and the token-signing keys. The loader fills a Config from
// the modules and calls Build; the gateway reads the result with no locks and no
// I/O. A Snapshot is never changed after Build: a change builds a new one.
//
// snapshot imports only the standard library and platform.
package snapshot
