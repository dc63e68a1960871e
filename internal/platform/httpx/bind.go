package httpx

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"portico/internal/platform/apperr"
)

// DefaultBodyLimit bounds management request bodies unless a route says otherwise.
const DefaultBodyLimit = 1 << 20

// BindJSON decodes the request body into v and reports problems the way a person
// can fix them: which field has the wrong type, where the syntax breaks, that the
// body is missing or too large. Unknown fields are ignored (clients may be newer).
func BindJSON(c echo.Context, v any) error {
	return DecodeJSON(c.Request(), v, DefaultBodyLimit)
}

// DecodeJSON is BindJSON for a plain *http.Request with an explicit size limit.
func DecodeJSON(r *http.Request, v any, limit int64) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return apperr.New(apperr.KindUnsupportedMediaType, "unsupported_media_type", "Send the body as application/json.")
		}
	}
	if r.Body == nil {
		return apperr.New(apperr.KindInvalid, "invalid_json", "The request needs a JSON body.")
	}
	body := http.MaxBytesReader(nil, r.Body, limit)
	dec := json.NewDecoder(body)
	if err := dec.Decode(v); err != nil {
		return jsonError(err, limit)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return apperr.New(apperr.KindInvalid, "invalid_json", "The body holds more than one JSON value.")
	}
	return nil
}

func jsonError(err error, limit int64) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var tooLarge *http.MaxBytesError
	switch {
	case errors.Is(err, io.EOF):
		return apperr.New(apperr.KindInvalid, "invalid_json", "The request needs a JSON body.")
	case errors.As(err, &tooLarge):
		return apperr.Newf(apperr.KindTooLarge, "body_too_large", "The body is larger than %d bytes.", limit)
	case errors.As(err, &syn):
		return apperr.Newf(apperr.KindInvalid, "invalid_json", "The body is not valid JSON (at byte %d: %s).", syn.Offset, syn.Error())
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return apperr.Newf(apperr.KindInvalid, "invalid_json", "The body must be a JSON %s, not %s.", kindName(typ.Type.Kind().String()), typ.Value)
		}
		return apperr.Invalid(field, "invalid_field", fmt.Sprintf("%s must be %s, not %s.", field, kindName(typ.Type.Kind().String()), typ.Value))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return apperr.New(apperr.KindInvalid, "invalid_json", "The body ends in the middle of a JSON value.")
	}
	return apperr.New(apperr.KindInvalid, "invalid_json", "The body is not valid JSON.")
}

func kindName(k string) string {
	switch k {
	case "struct", "map":
		return "an object"
	case "slice", "array":
		return "a list"
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "a whole number"
	case "float32", "float64":
		return "a number"
	}
	return k
}
