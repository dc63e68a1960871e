// Package store opens Portico's one database (PostgreSQL in production, pure-Go
// SQLite embedded by default), runs the embedded SQL migrations, carries
// transactions in the context, keeps small settings, and owns the config version
// that tells gateway nodes to reload.
//
// Modules' repositories get their *gorm.DB from Store.DB(ctx), so a call made inside
// Store.InTx joins the caller's transaction. Only repositories touch GORM.
// store imports config and platform only.
package store
