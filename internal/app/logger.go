package app

import (
	"io"
	"log/slog"
	"portico/internal/platform/requestid"

	"portico/internal/config"
)

// NewLogger builds the process logger from LOG_LEVEL and LOG_FORMAT. Records
// logged with a request's context carry its request id.
func NewLogger(cfg config.Log, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.Level}
	var h slog.Handler
	if cfg.Format == "json" {
		h = slog.NewJSONHandler(w, opts)
	} else {
		h = slog.NewTextHandler(w, opts)
	}
	return slog.New(requestid.ContextHandler{Handler: h})
}
