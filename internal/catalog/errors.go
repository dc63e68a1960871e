package catalog

import "portico/internal/platform/apperr"

// Errors users see, by stable code.
var (
	ErrAPINotFound       = apperr.NotFound("API")
	ErrOperationNotFound = apperr.NotFound("operation")
	ErrDocumentNotFound  = apperr.NotFound("document")
	ErrTierNotFound      = apperr.NotFound("tier")
	ErrContextTaken      = apperr.Conflict("context_taken", "That context is taken by another API; choose another, or add a version to that API.")
	ErrVersionTaken      = apperr.Conflict("version_taken", "This API already has that version.")
	ErrDefaultTaken      = apperr.Conflict("default_version_taken", "Another version became the default at the same moment; try again.")
	ErrOperationTaken    = apperr.Conflict("operation_taken", "The API already has an operation with that method and path.")
	ErrTierTaken         = apperr.Conflict("tier_taken", "The organisation already has a tier of that name.")
	ErrBuiltinTier       = apperr.Conflict("builtin_tier", "Built-in tiers cannot be deleted.")
	ErrTierInUse         = apperr.Conflict("tier_in_use", "APIs still offer this tier; remove it from them first.")
	ErrAPIInUse          = apperr.Conflict("api_in_use", "Published, blocked and deprecated APIs cannot be deleted: retire the API first (or demote it).")
	ErrNoBackend         = apperr.Conflict("backend_required", "Give the API a backend URL before publishing it (prototypes need none).")
)
