package httpx

import (
	"encoding/base64"
	"strconv"

	"github.com/labstack/echo/v4"

	"portico/internal/platform/apperr"
)

// Page limits.
const (
	DefaultPageSize = 50
	MaxPageSize     = 200
)

// Page is a cursor page request: at most Limit items after the item whose key is After.
type Page struct {
	Limit int
	After string // the last key of the previous page; "" for the first page
}

// List is the contract's list envelope.
type List[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor"`
}

// ParsePage reads ?limit= and ?cursor= and refuses values out of range.
func ParsePage(c echo.Context) (Page, error) {
	p := Page{Limit: DefaultPageSize}
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxPageSize {
			return p, apperr.Invalid("limit", "invalid_limit", "limit must be a whole number from 1 to "+strconv.Itoa(MaxPageSize)+".")
		}
		p.Limit = n
	}
	if v := c.QueryParam("cursor"); v != "" {
		b, err := base64.RawURLEncoding.DecodeString(v)
		if err != nil || len(b) == 0 || len(b) > 256 {
			return p, apperr.Invalid("cursor", "invalid_cursor", "cursor is not one this server handed out; start again without it.")
		}
		p.After = string(b)
	}
	return p, nil
}

// NewList builds the envelope from up to Limit+1 fetched items: when there is one
// more than the page holds, the cursor points after the last item shown.
func NewList[T any](p Page, fetched []T, key func(T) string) List[T] {
	l := List[T]{Items: fetched}
	if l.Items == nil {
		l.Items = []T{}
	}
	if len(fetched) > p.Limit {
		l.Items = fetched[:p.Limit]
		l.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(key(l.Items[p.Limit-1])))
	}
	return l
}
