// Package apperr defines the few kinds every Portico error unwraps to, the stable
// snake_case codes users see, and the one table from kind to HTTP status.
//
// Modules wrap their own failures in an *Error (or return one of the constructors'
// results); the HTTP layers call Status and Public to write the contract's error
// format: {"error": {"code": "...", "message": "..."}}. Anything that is not an
// *Error is an internal failure: 500 with a generic message, the detail only in the
// log. apperr imports only the standard library.
package apperr

import (
	"errors"
	"fmt"
	"net/http"
)

// Kind classifies an error for transport; it decides the HTTP status.
type Kind int

// The kinds of CONTRACT §4 and STYLE.md convention 1.
const (
	KindInternal Kind = iota
	KindInvalid
	KindUnauthenticated
	KindForbidden
	KindNotFound
	KindConflict
	KindGone
	KindTooLarge
	KindRateLimited
	KindUnavailable
	KindPaymentRequired
	KindMethodNotAllowed
	KindUnsupportedMediaType
)

var statusOf = map[Kind]int{
	KindInternal:             http.StatusInternalServerError,
	KindInvalid:              http.StatusBadRequest,
	KindUnauthenticated:      http.StatusUnauthorized,
	KindForbidden:            http.StatusForbidden,
	KindNotFound:             http.StatusNotFound,
	KindConflict:             http.StatusConflict,
	KindGone:                 http.StatusGone,
	KindTooLarge:             http.StatusRequestEntityTooLarge,
	KindRateLimited:          http.StatusTooManyRequests,
	KindUnavailable:          http.StatusServiceUnavailable,
	KindPaymentRequired:      http.StatusForbidden, // CONTRACT §9: a suspended subscription is a 403
	KindMethodNotAllowed:     http.StatusMethodNotAllowed,
	KindUnsupportedMediaType: http.StatusUnsupportedMediaType,
}

// Error is a failure a user can act on: a kind, a stable code and a sentence.
// Field, when set, names the input that caused it (forms show the message beside it).
type Error struct {
	Kind    Kind
	Code    string
	Message string
	Field   string
	Err     error // the cause, for logs and errors.Is; never shown to users
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Is matches another *Error by code, so errors.Is(err, account.ErrEmailTaken) works
// on wrapped copies.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && t.Kind == e.Kind
}

// WithField returns a copy naming the offending input field.
func (e *Error) WithField(field string) *Error {
	c := *e
	c.Field = field
	return &c
}

// Wrap returns a copy carrying cause as its Err (kept for logs only).
func (e *Error) Wrap(cause error) *Error {
	c := *e
	c.Err = cause
	return &c
}

// New builds an error of kind with a code and a message.
func New(kind Kind, code, message string) *Error {
	return &Error{Kind: kind, Code: code, Message: message}
}

// Newf is New with a formatted message.
func Newf(kind Kind, code, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid is a 400 naming the field at fault.
func Invalid(field, code, message string) *Error {
	return &Error{Kind: KindInvalid, Code: code, Message: message, Field: field}
}

// NotFound is a 404 for the named thing ("API", "application").
func NotFound(thing string) *Error {
	return &Error{Kind: KindNotFound, Code: "not_found", Message: "No such " + thing + "."}
}

// Conflict is a 409.
func Conflict(code, message string) *Error {
	return &Error{Kind: KindConflict, Code: code, Message: message}
}

// Forbidden is a 403.
func Forbidden(code, message string) *Error {
	return &Error{Kind: KindForbidden, Code: code, Message: message}
}

// Unauthenticated is a 401.
func Unauthenticated(code, message string) *Error {
	return &Error{Kind: KindUnauthenticated, Code: code, Message: message}
}

// Unavailable is a 503.
func Unavailable(code, message string) *Error {
	return &Error{Kind: KindUnavailable, Code: code, Message: message}
}

// Internal hides cause behind a generic 500.
func Internal(cause error) *Error {
	return &Error{Kind: KindInternal, Code: "internal_error", Message: "Something went wrong on our side; the request id identifies it in our logs.", Err: cause}
}

// As finds the *Error in err's chain. Errors that carry none are internal.
func As(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}

// KindOf returns the kind of err (KindInternal when err carries no *Error).
func KindOf(err error) Kind {
	if e, ok := As(err); ok {
		return e.Kind
	}
	return KindInternal
}

// IsKind reports whether err unwraps to an *Error of kind.
func IsKind(err error, kind Kind) bool {
	e, ok := As(err)
	return ok && e.Kind == kind
}

// Status maps a kind to its HTTP status: the one table of STYLE.md convention 1.
func Status(kind Kind) int {
	if s, ok := statusOf[kind]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// Body is the JSON error envelope of CONTRACT §4.
type Body struct {
	Error Detail `json:"error"`
}

// Detail is the inside of Body.
type Detail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// Public returns the status and body to send for err. Internal errors get a generic
// message: their detail belongs in the log, never in the answer.
func Public(err error) (int, Body) {
	e, ok := As(err)
	if !ok || e.Kind == KindInternal {
		ie := Internal(err)
		return http.StatusInternalServerError, Body{Detail{Code: ie.Code, Message: ie.Message}}
	}
	return Status(e.Kind), Body{Detail{Code: e.Code, Message: e.Message, Field: e.Field}}
}
