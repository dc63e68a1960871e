// Package archtest holds the architecture test: it walks the import graph with
// `go list` and fails on an edge DESIGN.md §2 forbids (a module importing one above
// it, the gateway reaching the store, GORM or Echo). It has no code of its own.
package archtest
