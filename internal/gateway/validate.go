package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"portico/internal/gateway/snapshot"
)

// validator checks calls against an API's OpenAPI document with kin-openapi.
// The router is built once per snapshot (a few ms), never per request.
type validator struct {
	router routers.Router
}

func newValidator(r *snapshot.Route) (snapshot.RequestValidator, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData([]byte(r.API.Spec))
	if err != nil {
		return nil, err
	}
	// Routers match the servers' hosts and paths; the gateway hands over only the
	// path after the API's prefix, so the document must have none.
	doc.Servers = nil
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, err
	}
	return &validator{router: router}, nil
}

var validationOptions = &openapi3filter.Options{
	AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, // the gateway authenticates
	MultiError:         false,
}

// Validate implements snapshot.RequestValidator. The body, when read, is put
// back for the proxy.
func (v *validator) Validate(r *http.Request, rest string) error {
	probe := r.Clone(r.Context())
	u := *r.URL
	u.Path, u.RawPath = rest, ""
	probe.URL = &u
	route, params, err := v.router.FindRoute(probe)
	if err != nil {
		return nil // not in the document: operation matching has already decided
	}
	in := &openapi3filter.RequestValidationInput{Request: probe, PathParams: params, Route: route, Options: validationOptions}
	if err := openapi3filter.ValidateRequest(context.WithoutCancel(r.Context()), in); err != nil {
		r.Body = probe.Body // the validator replaced it with a re-readable copy
		return errors.New(describe(err))
	}
	r.Body = probe.Body
	return nil
}

// describe turns kin-openapi's error into a sentence naming the field.
func describe(err error) string {
	var re *openapi3filter.RequestError
	if errors.As(err, &re) {
		var se *openapi3.SchemaError
		switch {
		case re.Parameter != nil:
			msg := fmt.Sprintf("Parameter %q in %s is invalid", re.Parameter.Name, re.Parameter.In)
			if errors.As(re.Err, &se) {
				return msg + ": " + se.Reason + "."
			}
			var pe *openapi3filter.ParseError
			if errors.As(re.Err, &pe) {
				return msg + ": " + strings.TrimSuffix(pe.Error(), ".") + "."
			}
			if re.Reason != "" {
				return msg + ": " + re.Reason + "."
			}
			return msg + "."
		case re.RequestBody != nil:
			if errors.As(re.Err, &se) {
				field := strings.Join(se.JSONPointer(), ".")
				if field == "" {
					return "The request body is invalid: " + se.Reason + "."
				}
				return fmt.Sprintf("Body field %q is invalid: %s.", field, se.Reason)
			}
			return "The request body is invalid: " + strings.TrimSpace(re.Reason) + "."
		}
	}
	var sre *openapi3filter.SecurityRequirementsError
	if errors.As(err, &sre) {
		return "The request does not meet the document's security requirements."
	}
	return "The request does not match the API's OpenAPI document."
}
