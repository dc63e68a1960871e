// Package migrations embeds Portico's SQL schema changes, applied in order by the
// store (goose) at `portico serve` start and by `portico migrate`.
//
// Files are numbered NNNNN_name.sql and written in SQL both PostgreSQL and SQLite
// accept. Where the two differ, a file of the same name in postgres/ or sqlite/
// replaces the shared one for that dialect. Timestamps are TIMESTAMP columns that
// always hold UTC (the store sets GORM's clock to UTC). IDs are text (UUIDv7).
package migrations

import "embed"

// FS holds the shared migrations and the per-dialect variants.
//
//go:embed *.sql postgres sqlite
var FS embed.FS
