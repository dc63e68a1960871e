package admin

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"portico/internal/account"
	"portico/internal/platform/apperr"
	"portico/internal/platform/render"
)

const pageBranding = "admin/branding"

type brandingView struct {
	render.Base
	Name, LogoURL render.Field
	BrandColor    string
	ColorError    string
	FormError     string
	Preview       string
}

func (w *Web) branding(c echo.Context) error {
	org, err := w.accounts.Org(c.Request().Context(), account.Caller(c).OrgID)
	if err != nil {
		return err
	}
	return w.renderBranding(c, http.StatusOK, brandingFields(account.Branding{Name: org.Name, LogoURL: org.LogoURL, BrandColor: org.BrandColor}))
}

func brandingFields(b account.Branding) brandingView {
	return brandingView{
		Name:       render.Field{Name: "name", Label: "Organisation name", Type: "text", Value: b.Name, Required: true, Auto: "organization"},
		LogoURL:    render.Field{Name: "logo_url", Label: "Logo URL (https://…, or a path on this site; empty for none)", Type: "url", Value: b.LogoURL, Auto: "off"},
		BrandColor: b.BrandColor,
	}
}

func (w *Web) renderBranding(c echo.Context, status int, v brandingView) error {
	base, err := w.web.Base(c, "admin", "Branding", nil)
	if err != nil {
		return err
	}
	base.Flash = c.QueryParam("done")
	v.Base = base
	v.Preview = v.BrandColor
	if v.Preview == "" {
		v.Preview = "#2f5bd3"
	}
	return w.r.Page(c.Response(), status, pageBranding, v)
}

func (w *Web) saveBranding(c echo.Context) error {
	in := account.Branding{Name: c.FormValue("name"), LogoURL: c.FormValue("logo_url"), BrandColor: c.FormValue("brand_color")}
	if _, err := w.accounts.UpdateBranding(c.Request().Context(), account.Caller(c), in); err != nil {
		ae, ok := apperr.As(err)
		if !ok || ae.Kind == apperr.KindInternal || ae.Kind == apperr.KindForbidden || ae.Kind == apperr.KindNotFound {
			return err
		}
		v := brandingFields(in)
		switch ae.Field {
		case "name":
			v.Name.Error = ae.Message
		case "logo_url":
			v.LogoURL.Error = ae.Message
		case "brand_color":
			v.ColorError = ae.Message
		default:
			v.FormError = ae.Message
		}
		return w.renderBranding(c, apperr.Status(ae.Kind), v)
	}
	return c.Redirect(http.StatusSeeOther, "/admin/branding?done=Branding+saved.")
}
