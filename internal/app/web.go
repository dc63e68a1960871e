package app

import (
	"io/fs"
	"net/http"
	"portico/internal/platform/requestid"
	"strings"

	"github.com/labstack/echo/v4"

	"portico/internal/platform/httpx"
	"portico/internal/platform/render"
	"portico/static"
)

type errorView struct {
	render.Base
	Status     int
	StatusText string
	Code       string
	Message    string
	RequestID  string
}

// errorPage renders errors for browsers with the site's layout.
func errorPage(r *render.Renderer) httpx.HTMLErrorPage {
	return func(c echo.Context, status int, code, message string) error {
		base := render.Base{Title: http.StatusText(status), CSRFToken: httpx.CSRFToken(c)}
		v := errorView{Base: base, Status: status, StatusText: http.StatusText(status), Code: code, Message: message,
			RequestID: requestid.From(c.Request().Context())}
		return r.Page(c.Response(), status, "errors/error", v)
	}
}

// staticHandler serves the embedded, built assets. They change only with a new
// binary, so browsers may cache them for an hour.
func staticHandler() echo.HandlerFunc {
	files := http.StripPrefix("/static/", http.FileServer(http.FS(static.FS)))
	return func(c echo.Context) error {
		name := strings.TrimPrefix(c.Request().URL.Path, "/static/")
		if st, err := fs.Stat(static.FS, name); err != nil || st.IsDir() {
			return echo.ErrNotFound // no directory listings, and 404s in the contract's format
		}
		c.Response().Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(c.Response(), c.Request())
		return nil
	}
}
