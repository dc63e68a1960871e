// Package templates embeds the HTML templates, by area: layouts and partials shared
// by every page, then one folder per UI (account, portal, publisher, admin, errors).
package templates

import "embed"

// FS holds every template.
//
//go:embed layouts partials errors account portal publisher admin oauth analytics
var FS embed.FS
