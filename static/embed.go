// Package static embeds the built front-end assets served at /static. They are
// produced from web/ by `make assets` and committed, so Go alone builds Portico.
package static

import "embed"

// FS holds the built assets.
//
//go:embed css publisher analytics portal
var FS embed.FS
