package oauth

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/ory/fosite"

	"portico/internal/platform/apperr"
)

// grantTypes are the grants the token endpoint serves; anything else is
// unsupported_grant_type (fosite on its own would say invalid_request).
var grantTypes = map[string]bool{"client_credentials": true, "authorization_code": true, "refresh_token": true}

// maxFormBytes bounds token, introspection and revocation bodies.
const maxFormBytes = 64 << 10

// RegisterEndpoints adds the client-authenticated endpoints (token, introspect,
// revoke) to the /oauth2 group and the metadata documents to /.well-known. None
// of them take cookies, so none goes through CSRF or the session middleware.
func (s *Server) RegisterEndpoints(oauth2Group, wellKnown *echo.Group) {
	oauth2Group.POST("/token", s.token)
	oauth2Group.POST("/introspect", s.introspect)
	oauth2Group.POST("/revoke", s.revoke)
	for _, p := range []string{"/token", "/introspect", "/revoke"} {
		oauth2Group.GET(p, postOnly)
	}
	wellKnown.GET("/oauth-authorization-server", s.metadata)
	wellKnown.GET("/jwks.json", s.jwks)
}

// RegisterAuthorize adds the browser-facing authorization endpoint (log-in
// redirect and consent page) with the browser middleware mw. They are single
// routes, not a group, so unknown /oauth2 paths answer 404, not a CSRF refusal.
func (s *Server) RegisterAuthorize(e *echo.Echo, mw []echo.MiddlewareFunc) {
	e.GET("/oauth2/authorize", s.authorize, mw...)
	e.POST("/oauth2/authorize", s.authorize, mw...)
}

// postOnly answers GET on the POST-only endpoints (RFC 6749 §3.2).
func postOnly(echo.Context) error {
	return apperr.New(apperr.KindMethodNotAllowed, "method_not_allowed", "This endpoint accepts only POST with a form body.")
}

func limitBody(r *http.Request, w http.ResponseWriter) {
	if r.Body != nil {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	}
}

func (s *Server) token(c echo.Context) error {
	w, r := c.Response(), c.Request()
	ctx := r.Context()
	limitBody(r, w)
	session := NewSession("")
	if err := r.ParseForm(); err == nil {
		if gt := r.PostForm.Get("grant_type"); gt != "" && !grantTypes[gt] {
			s.provider.WriteAccessError(ctx, w, nil, fosite.ErrUnsupportedGrantType.WithHintf("This server offers the grants client_credentials, authorization_code and refresh_token, not %q.", gt))
			return nil
		}
		if len(r.PostForm) > 0 && r.Header.Get("Authorization") == "" && r.PostForm.Get("client_id") == "" {
			// RFC 6749 §5.2: no client authentication at all is invalid_client.
			s.writeAccessError(c, nil, fosite.ErrInvalidClient.WithHint("Authenticate the client with HTTP Basic (client_secret_basic), client_id and client_secret in the body, or client_id alone for a public client."))
			return nil
		}
	}
	ar, err := s.provider.NewAccessRequest(ctx, r, session)
	if err != nil {
		s.writeAccessError(c, ar, err)
		return nil
	}
	if ar.GetGrantTypes().ExactOne("client_credentials") {
		// The grant handler checked every requested scope and audience against the client.
		for _, scope := range ar.GetRequestedScopes() {
			ar.GrantScope(scope)
		}
		for _, aud := range ar.GetRequestedAudience() {
			ar.GrantAudience(aud)
		}
		if len(ar.GetGrantedAudience()) == 0 {
			ar.GrantAudience(s.cfg.Issuer)
		}
	}
	resp, err := s.provider.NewAccessResponse(ctx, ar)
	if errors.Is(err, fosite.ErrInvalidatedAuthorizeCode) {
		// Two exchanges of one code raced and this one lost: for the client it
		// is a used code, not a server failure.
		err = fosite.ErrInvalidGrant.WithHint("The authorization code has already been used.").WithWrap(err)
	}
	if err != nil {
		s.writeAccessError(c, ar, err)
		return nil
	}
	s.provider.WriteAccessResponse(ctx, w, ar, resp)
	return nil
}

// writeAccessError writes an RFC 6749 §5.2 error; server errors are logged with
// their cause (which the client never sees).
func (s *Server) writeAccessError(c echo.Context, ar fosite.AccessRequester, err error) {
	rfc := fosite.ErrorToRFC6749Error(err)
	if rfc.CodeField >= 500 {
		s.log.ErrorContext(c.Request().Context(), "token request failed", "err", err, "debug", rfc.DebugField)
	}
	if rfc.ErrorField == fosite.ErrInvalidClient.ErrorField {
		c.Response().Header().Set("WWW-Authenticate", `Basic realm="portico"`)
	}
	s.provider.WriteAccessError(c.Request().Context(), c.Response(), ar, err)
}

func (s *Server) introspect(c echo.Context) error {
	w, r := c.Response(), c.Request()
	ctx := r.Context()
	limitBody(r, w)
	ir, err := s.provider.NewIntrospectionRequest(ctx, r, NewSession(""))
	if err != nil {
		if rfc := fosite.ErrorToRFC6749Error(err); rfc.CodeField >= 500 {
			s.log.ErrorContext(ctx, "introspection failed", "err", err, "debug", rfc.DebugField)
		}
		s.provider.WriteIntrospectionError(ctx, w, err)
		return nil
	}
	s.provider.WriteIntrospectionResponse(ctx, w, ir)
	return nil
}

func (s *Server) revoke(c echo.Context) error {
	w, r := c.Response(), c.Request()
	ctx := r.Context()
	limitBody(r, w)
	err := s.provider.NewRevocationRequest(ctx, r)
	if err != nil {
		if rfc := fosite.ErrorToRFC6749Error(err); rfc.CodeField >= 500 {
			s.log.ErrorContext(ctx, "revocation failed", "err", err, "debug", rfc.DebugField)
		}
	}
	s.provider.WriteRevocationResponse(ctx, w, err)
	return nil
}

// Metadata is the RFC 8414 authorization server metadata.
type Metadata struct {
	Issuer                                 string   `json:"issuer"`
	AuthorizationEndpoint                  string   `json:"authorization_endpoint"`
	TokenEndpoint                          string   `json:"token_endpoint"`
	JWKSURI                                string   `json:"jwks_uri"`
	IntrospectionEndpoint                  string   `json:"introspection_endpoint"`
	RevocationEndpoint                     string   `json:"revocation_endpoint"`
	ResponseTypesSupported                 []string `json:"response_types_supported"`
	ResponseModesSupported                 []string `json:"response_modes_supported"`
	GrantTypesSupported                    []string `json:"grant_types_supported"`
	TokenEndpointAuthMethodsSupported      []string `json:"token_endpoint_auth_methods_supported"`
	IntrospectionEndpointAuthMethods       []string `json:"introspection_endpoint_auth_methods_supported"`
	RevocationEndpointAuthMethods          []string `json:"revocation_endpoint_auth_methods_supported"`
	CodeChallengeMethodsSupported          []string `json:"code_challenge_methods_supported"`
	AccessTokenSigningAlgValuesSupported   []string `json:"access_token_signing_alg_values_supported,omitempty"`
	AuthorizationResponseIssParamSupported bool     `json:"authorization_response_iss_parameter_supported"`
}

// Metadata returns the server's RFC 8414 document.
func (s *Server) Metadata() Metadata {
	base := strings.TrimSuffix(s.cfg.Issuer, "/")
	return Metadata{
		Issuer:                               base,
		AuthorizationEndpoint:                base + "/oauth2/authorize",
		TokenEndpoint:                        base + "/oauth2/token",
		JWKSURI:                              base + "/.well-known/jwks.json",
		IntrospectionEndpoint:                base + "/oauth2/introspect",
		RevocationEndpoint:                   base + "/oauth2/revoke",
		ResponseTypesSupported:               []string{"code"},
		ResponseModesSupported:               []string{"query"},
		GrantTypesSupported:                  []string{"authorization_code", "client_credentials", "refresh_token"},
		TokenEndpointAuthMethodsSupported:    []string{"client_secret_basic", "client_secret_post", "none"},
		IntrospectionEndpointAuthMethods:     []string{"client_secret_basic"},
		RevocationEndpointAuthMethods:        []string{"client_secret_basic", "client_secret_post", "none"},
		CodeChallengeMethodsSupported:        []string{"S256"},
		AccessTokenSigningAlgValuesSupported: []string{s.cfg.Algorithm},
	}
}

func (s *Server) metadata(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "public, max-age=3600")
	return c.JSON(http.StatusOK, s.Metadata())
}

func (s *Server) jwks(c echo.Context) error {
	set, err := s.keys.JWKS(c.Request().Context())
	if err != nil {
		return err
	}
	// Short enough that verifiers see a rotation long before the old key goes.
	c.Response().Header().Set("Cache-Control", "public, max-age=60")
	return c.JSON(http.StatusOK, set)
}
