package httpx

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"portico/internal/platform/requestid"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/labstack/echo/v4"

	"portico/internal/platform/apperr"
	"portico/internal/platform/metrics"
)

// HTMLErrorPage renders an error page for a browser. It must not fail loudly: if it
// returns an error the handler falls back to plain text.
type HTMLErrorPage func(c echo.Context, status int, code, message string) error

// Options configure New.
type Options struct {
	Logger  *slog.Logger
	Metrics *metrics.HTTP
	// ErrorPage renders HTML errors for browser requests; nil means JSON always.
	ErrorPage HTMLErrorPage
}

// New returns an Echo with Portico's middleware and error handler installed.
// Routes are added by each module through its own Register method.
func New(o Options) *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.Logger.SetOutput(discard{})
	// Trust X-Forwarded-For only from loopback and private networks (Heroku's
	// router, a local load balancer); anything else reports the socket peer.
	e.IPExtractor = echo.ExtractIPFromXFFHeader()
	e.HTTPErrorHandler = errorHandler(o)
	e.Use(requestContext(o))
	return e
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// requestContext is the outermost middleware: request id, panic recovery, the
// access log and metrics, in one frame so each sees the final status.
func requestContext(o Options) echo.MiddlewareFunc {
	ids := requestid.NewGenerator()
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) (err error) {
			req := c.Request()
			start := time.Now()
			id := req.Header.Get(requestid.Header)
			if !requestid.Valid(id) {
				id = ids.New()
			}
			ctx := requestid.With(req.Context(), id)
			c.SetRequest(req.WithContext(ctx))
			c.Response().Header().Set(requestid.Header, id)
			if IsHTTPS(req) {
				// Browsers that reached us over HTTPS keep to it for a year.
				c.Response().Header().Set("Strict-Transport-Security", "max-age=31536000")
			}

			defer func() {
				if r := recover(); r != nil {
					if r == http.ErrAbortHandler {
						panic(r)
					}
					buf := make([]byte, 8<<10)
					buf = buf[:runtime.Stack(buf, false)]
					o.Logger.ErrorContext(ctx, "panic in handler", "panic", fmt.Sprint(r), "stack", string(buf))
					err = apperr.Internal(fmt.Errorf("panic: %v", r))
				}
				if err != nil {
					c.Error(err)
					err = nil
				}
				status := c.Response().Status
				elapsed := time.Since(start)
				area := Area(req.URL.Path)
				if o.Metrics != nil {
					o.Metrics.Observe(area, req.Method, status, elapsed)
				}
				level := slog.LevelInfo
				if area == "healthz" || area == "readyz" || area == "metrics" || area == "static" {
					level = slog.LevelDebug
				}
				if status >= 500 {
					level = slog.LevelError
				}
				o.Logger.LogAttrs(ctx, level, "http request",
					slog.String("method", req.Method),
					slog.String("path", req.URL.Path),
					slog.Int("status", status),
					slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
					slog.Int64("bytes", c.Response().Size),
					slog.String("remote_ip", c.RealIP()),
				)
			}()
			return next(c)
		}
	}
}

// Area is the first path segment, the label metrics and logs group requests by.
// Only reserved segments reach Echo, so the set is small.
func Area(path string) string {
	path = strings.TrimPrefix(path, "/")
	if i := strings.IndexByte(path, '/'); i >= 0 {
		path = path[:i]
	}
	if path == "" {
		return "root"
	}
	return path
}

// WantsJSON reports whether an error for this request should be JSON: API paths,
// OAuth endpoints, and any client that does not ask for HTML.
func WantsJSON(r *http.Request) bool {
	p := r.URL.Path
	if strings.HasPrefix(p, "/api/") || strings.HasPrefix(p, "/oauth2/token") ||
		strings.HasPrefix(p, "/oauth2/introspect") || strings.HasPrefix(p, "/oauth2/revoke") ||
		strings.HasPrefix(p, "/.well-known/") || strings.HasPrefix(p, "/billing/") || strings.HasPrefix(p, "/heroku/resources") {
		return true
	}
	return !strings.Contains(r.Header.Get("Accept"), "text/html")
}

func errorHandler(o Options) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		err = FromEcho(err)
		if _, known := apperr.As(err); !known && Unreachable(err) {
			err = errUnreachable.Wrap(err)
		}
		status, body := apperr.Public(err)
		ctx := c.Request().Context()
		if status >= 500 {
			o.Logger.ErrorContext(ctx, "request failed", "err", err)
		}
		if c.Request().Method == http.MethodHead {
			_ = c.NoContent(status)
			return
		}
		if o.ErrorPage != nil && !WantsJSON(c.Request()) {
			if rerr := o.ErrorPage(c, status, body.Error.Code, body.Error.Message); rerr == nil {
				return
			}
		}
		if rerr := c.JSON(status, body); rerr != nil {
			o.Logger.WarnContext(ctx, "writing error response failed", "err", rerr)
		}
	}
}

var errUnreachable = apperr.Unavailable("database_unavailable", "Portico cannot reach its database right now; try again shortly.")

// Unreachable reports whether err comes from a connection that could not be
// made or broke (the database being down): a 503 the caller may retry, not a 500.
func Unreachable(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.ErrUnexpectedEOF)
}

// FromEcho turns Echo's own errors (unknown route, wrong method, body too large,
// middleware refusals) into apperr errors; other errors pass through.
func FromEcho(err error) error {
	var he *echo.HTTPError
	if !errors.As(err, &he) {
		return err
	}
	if _, ok := apperr.As(he.Internal); ok {
		return he.Internal
	}
	switch he.Code {
	case http.StatusNotFound:
		return apperr.New(apperr.KindNotFound, "not_found", "Nothing is here: check the path.")
	case http.StatusMethodNotAllowed:
		return apperr.New(apperr.KindMethodNotAllowed, "method_not_allowed", "This path does not accept that method.")
	case http.StatusRequestEntityTooLarge:
		return apperr.New(apperr.KindTooLarge, "body_too_large", "The request body is larger than this endpoint accepts.")
	case http.StatusUnsupportedMediaType:
		return apperr.New(apperr.KindUnsupportedMediaType, "unsupported_media_type", "Send the body as application/json.")
	case http.StatusUnauthorized:
		return apperr.Unauthenticated("unauthenticated", "Log in or send a valid token.")
	case http.StatusForbidden:
		return apperr.Forbidden("forbidden", "You may not do this.")
	case http.StatusTooManyRequests:
		return apperr.New(apperr.KindRateLimited, "rate_limited", "Too many requests; slow down.")
	case http.StatusServiceUnavailable:
		return apperr.Unavailable("unavailable", "The service is unavailable; try again shortly.")
	}
	if he.Code >= 400 && he.Code < 500 {
		return apperr.New(apperr.KindInvalid, "bad_request", fmt.Sprint(he.Message))
	}
	return apperr.Internal(err)
}
