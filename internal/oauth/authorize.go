package oauth

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/ory/fosite"

	"portico/internal/account"
	"portico/internal/platform/apperr"
	"portico/internal/platform/render"
)

// pageConsent is the consent page's template.
const pageConsent = "oauth/consent"

// scopeView is one requested scope as the consent page lists it.
type scopeView struct {
	Name        string
	Description string
}

type consentView struct {
	render.Base
	ClientName string
	ClientID   string
	RedirectTo string // the callback's origin, so the user sees where they go next
	Scopes     []scopeView
	Action     string // the form's target: this endpoint with the request's query
}

// authorize is the authorization endpoint (RFC 6749 §4.1.1). Anonymous visitors
// log in through the portal and come back; then the user approves the client's
// scopes on the consent page (or has approved them before); then fosite issues
// the code and redirects to the client's callback.
func (s *Server) authorize(c echo.Context) error {
	r := c.Request()
	ctx := r.Context()
	ar, err := s.provider.NewAuthorizeRequest(ctx, r)
	if err != nil {
		return s.authorizeError(c, ar, err)
	}
	p, signedIn := account.PrincipalFrom(ctx)
	if !signedIn {
		next := "/oauth2/authorize?" + authorizeQuery(r)
		return c.Redirect(http.StatusSeeOther, "/portal/login?next="+url.QueryEscape(next))
	}
	client, ok := ar.GetClient().(*Client)
	if !ok {
		return s.authorizeError(c, ar, fosite.ErrServerError.WithDebug("client of unexpected type"))
	}
	scopes := ar.GetRequestedScopes()

	if r.Method == http.MethodPost {
		switch c.FormValue("consent") {
		case "approve":
			if c.FormValue("remember") != "" {
				if err := s.storage.remember(ctx, p.UserID, client.GetID(), scopes); err != nil {
					return err
				}
			}
			return s.issueCode(c, ar, p)
		case "deny":
			return s.authorizeError(c, ar, fosite.ErrAccessDenied.WithHint("The user refused the request."))
		default:
			return apperr.Invalid("consent", "invalid_consent", "Choose Allow or Deny.")
		}
	}

	if !ar.GetRequestForm().Has("prompt") || ar.GetRequestForm().Get("prompt") != "consent" {
		ok, err := s.storage.consented(ctx, p.UserID, client.GetID(), scopes)
		if err != nil {
			return err
		}
		if ok {
			return s.issueCode(c, ar, p)
		}
	}
	return s.renderConsent(c, ar, client)
}

// authorizeQuery is the authorization request's parameters, to come back to
// after logging in or from the consent form.
func authorizeQuery(r *http.Request) string {
	q := url.Values{}
	for k, v := range r.Form {
		switch k {
		case "csrf_token", "consent", "remember":
			continue
		}
		q[k] = v
	}
	return q.Encode()
}

func (s *Server) issueCode(c echo.Context, ar fosite.AuthorizeRequester, p account.Principal) error {
	ctx := c.Request().Context()
	for _, scope := range ar.GetRequestedScopes() {
		ar.GrantScope(scope)
	}
	for _, aud := range ar.GetRequestedAudience() {
		ar.GrantAudience(aud)
	}
	if len(ar.GetGrantedAudience()) == 0 {
		ar.GrantAudience(s.cfg.Issuer)
	}
	session := NewSession(p.UserID)
	session.Username = p.Email
	resp, err := s.provider.NewAuthorizeResponse(ctx, ar, session)
	if err != nil {
		return s.authorizeError(c, ar, err)
	}
	s.provider.WriteAuthorizeResponse(ctx, c.Response(), ar, resp)
	return nil
}

// authorizeError sends the error back to the client's callback when the request
// named a valid one (RFC 6749 §4.1.2.1); otherwise the user sees an error page,
// never a redirect to an unverified URL.
func (s *Server) authorizeError(c echo.Context, ar fosite.AuthorizeRequester, err error) error {
	rfc := fosite.ErrorToRFC6749Error(err)
	if rfc.CodeField >= 500 {
		s.log.ErrorContext(c.Request().Context(), "authorization request failed", "err", err, "debug", rfc.DebugField)
	}
	if ar != nil && ar.IsRedirectURIValid() {
		s.provider.WriteAuthorizeError(c.Request().Context(), c.Response(), ar, err)
		return nil
	}
	msg := rfc.DescriptionField
	if rfc.HintField != "" {
		msg = strings.TrimSpace(msg + " " + rfc.HintField)
	}
	if rfc.CodeField >= 500 {
		return apperr.Internal(err)
	}
	return apperr.New(apperr.KindInvalid, rfc.ErrorField, msg)
}

func (s *Server) renderConsent(c echo.Context, ar fosite.AuthorizeRequester, client *Client) error {
	base, err := s.web.Base(c, "portal", "Authorize "+client.Name, nil)
	if err != nil {
		return err
	}
	v := consentView{Base: base, ClientName: client.Name, ClientID: client.GetID(),
		Action: "/oauth2/authorize?" + authorizeQuery(c.Request())}
	if u := ar.GetRedirectURI(); u != nil {
		v.RedirectTo = u.Scheme + "://" + u.Host
	}
	for _, sc := range ar.GetRequestedScopes() {
		v.Scopes = append(v.Scopes, scopeView{Name: sc, Description: describeScope(sc)})
	}
	return s.r.Page(c.Response(), http.StatusOK, pageConsent, v)
}

// describeScope says in words what a scope lets the client do. Operation scopes
// get their descriptions from the catalog once it defines them.
func describeScope(scope string) string {
	switch scope {
	case "offline", "offline_access":
		return "Keep access when you are not using it (a refresh token)."
	}
	return ""
}
