package catalog

// reservedContexts are the first path segments Portico keeps for itself
// (CONTRACT §3); an API context may not take one.
var reservedContexts = [...]string{
	"portal", "publisher", "admin", "api", "oauth2", ".well-known", "heroku",
	"billing", "static", "healthz", "readyz", "metrics", "favicon.ico",
}

// ReservedPaths returns the reserved first path segments. It is the canonical
// list: the app's dispatcher and context validation both use it.
func ReservedPaths() []string { return append([]string(nil), reservedContexts[:]...) }

// IsReserved reports whether seg is a reserved first path segment.
func IsReserved(seg string) bool {
	for _, r := range reservedContexts {
		if r == seg {
			return true
		}
	}
	return false
}
