// Package loader keeps a gateway's snapshot current: it reads the catalog's,
// access module's and OAuth server's gateway views in one read-only transaction,
// turns them into a snapshot.Config, and has the gateway build and swap it. It
// watches the store's config version (LISTEN/NOTIFY on Postgres, polling
// everywhere), debounces bursts of changes, and on any error keeps the last good
// snapshot and retries.
//
// loader is the one gateway package that may read the database; it imports
// store, catalog, access, oauth and the gateway.
package loader
