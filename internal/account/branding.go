package account

import (
	"context"
	"math"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"portico/internal/platform/apperr"
)

// Branding is what an admin sets to make the organisation's portal its own.
type Branding struct {
	Name string `json:"name"`
	// LogoURL is an absolute https URL or a path on this site ("/static/…");
	// empty for none.
	LogoURL string `json:"logo_url"`
	// BrandColor is a hex colour (#rrggbb or #rgb); empty for Portico's blue.
	BrandColor string `json:"brand_color"`
}

// Branding limits.
const MaxLogoURLLen = 500

var hexColorRE = regexp.MustCompile(`^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$`)

// checkBranding validates and normalises in: colours become lower-case #rrggbb.
func checkBranding(in Branding) (Branding, error) {
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" || len(in.Name) > 100 {
		return in, apperr.Invalid("name", "invalid_name", "Give the organisation a name of 1 to 100 characters.")
	}
	in.LogoURL = strings.TrimSpace(in.LogoURL)
	if in.LogoURL != "" {
		bad := apperr.Invalid("logo_url", "invalid_logo_url", "The logo must be an absolute https:// URL or a path on this site starting with /, of at most 500 characters.")
		if len(in.LogoURL) > MaxLogoURLLen || strings.ContainsAny(in.LogoURL, "\"'<>\\ \t\r\n") {
			return in, bad
		}
		u, err := url.Parse(in.LogoURL)
		switch {
		case err != nil:
			return in, bad
		case u.Scheme == "https" && u.Host != "" && u.User == nil:
		case u.Scheme == "" && u.Host == "" && strings.HasPrefix(in.LogoURL, "/") && !strings.HasPrefix(in.LogoURL, "//"):
		default:
			return in, bad
		}
	}
	in.BrandColor = strings.TrimSpace(in.BrandColor)
	if in.BrandColor != "" {
		if !hexColorRE.MatchString(in.BrandColor) {
			return in, apperr.Invalid("brand_color", "invalid_brand_color", "The brand colour is a hex colour such as #2f5bd3.")
		}
		c := strings.ToLower(in.BrandColor)
		if len(c) == 4 {
			c = "#" + string([]byte{c[1], c[1], c[2], c[2], c[3], c[3]})
		}
		in.BrandColor = c
	}
	return in, nil
}

// UpdateBranding sets the organisation's name, logo and brand colour; admins
// only. Bad input changes nothing.
func (s *Service) UpdateBranding(ctx context.Context, actor Principal, in Branding) (Organization, error) {
	if err := actor.Require(RoleAdmin); err != nil {
		return Organization{}, err
	}
	in, err := checkBranding(in)
	if err != nil {
		return Organization{}, err
	}
	var o Organization
	err = s.st.InTx(ctx, func(ctx context.Context) error {
		var err error
		if o, err = s.repo.orgByID(ctx, actor.OrgID); err != nil {
			return err
		}
		o.Name, o.LogoURL, o.BrandColor, o.UpdatedAt = in.Name, in.LogoURL, in.BrandColor, s.now()
		if err := s.repo.updateBranding(ctx, o); err != nil {
			return err
		}
		return s.Audit(ctx, actor, "organization.branding", "organization", o.ID, in)
	})
	if err != nil {
		return Organization{}, err
	}
	return o, nil
}

// BrandInk is the text colour that reads on the brand colour: white on dark
// colours, the default ink on light ones ("" without a brand colour).
func (o Organization) BrandInk() string {
	if !hexColorRE.MatchString(o.BrandColor) || len(o.BrandColor) != 7 {
		return ""
	}
	lin := func(hex string) float64 {
		v, _ := strconv.ParseUint(hex, 16, 8)
		c := float64(v) / 255
		if c <= 0.03928 {
			return c / 12.92
		}
		return math.Pow((c+0.055)/1.055, 2.4)
	}
	l := 0.2126*lin(o.BrandColor[1:3]) + 0.7152*lin(o.BrandColor[3:5]) + 0.0722*lin(o.BrandColor[5:7])
	// Contrast against white (1.05/(l+.05)) beats contrast against near-black
	// ((l+.05)/.05) below this luminance.
	if l < 0.179 {
		return "#ffffff"
	}
	return "#1c2330"
}

func (r repo) updateBranding(ctx context.Context, o Organization) error {
	res := r.st.DB(ctx).Model(&Organization{}).Where("id = ?", o.ID).
		Updates(map[string]any{"name": o.Name, "logo_url": o.LogoURL, "brand_color": o.BrandColor, "updated_at": o.UpdatedAt})
	if res.Error != nil {
		return wrap("update branding", res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrOrgNotFound
	}
	return nil
}
