package heroku

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"portico/internal/config"
)

// Manifest is addon-manifest.json (heroku-addon.md §1). Plans are not part of
// it: Heroku keeps them in the Partner Portal.
type Manifest struct {
	ID            string      `json:"id"`
	Name          string      `json:"name"`
	CLIPluginName *string     `json:"cli_plugin_name"`
	API           ManifestAPI `json:"api"`
}

// ManifestAPI is the manifest's "api" object.
type ManifestAPI struct {
	Version          string           `json:"version"`
	ConfigVarsPrefix string           `json:"config_vars_prefix"`
	ConfigVars       []string         `json:"config_vars"`
	Password         string           `json:"password"`
	SSOSalt          string           `json:"sso_salt"`
	Regions          []string         `json:"regions"`
	Requires         []string         `json:"requires"`
	Production       ManifestEndpoint `json:"production"`
	Test             ManifestEndpoint `json:"test"`
}

// ManifestEndpoint is where Heroku calls in one environment.
type ManifestEndpoint struct {
	BaseURL string `json:"base_url"`
	SSOURL  string `json:"sso_url"`
}

// BuildManifest makes the manifest from the configuration: production URLs
// from PORTICO_BASE_URL, test URLs on localhost:$PORT.
func BuildManifest(cfg config.Config) (Manifest, error) {
	h := cfg.Heroku
	if !h.Enabled() {
		return Manifest{}, errors.New("set HEROKU_ADDON_ID, HEROKU_ADDON_PASSWORD and HEROKU_SSO_SALT (the manifest carries them)")
	}
	local := fmt.Sprintf("http://localhost:%d", cfg.Port)
	return Manifest{
		ID:   h.AddonID,
		Name: "Portico API Management",
		API: ManifestAPI{
			Version:          "3",
			ConfigVarsPrefix: "PORTICO",
			ConfigVars:       []string{VarURL, VarBackendSecret},
			Password:         h.AddonPassword.Reveal(),
			SSOSalt:          h.SSOSalt.Reveal(),
			Regions:          []string{"us", "eu"},
			Requires:         []string{},
			Production:       ManifestEndpoint{BaseURL: cfg.BaseURL + "/heroku/resources", SSOURL: cfg.BaseURL + "/heroku/sso"},
			Test:             ManifestEndpoint{BaseURL: local + "/heroku/resources", SSOURL: local + "/heroku/sso"},
		},
	}, nil
}

// WriteManifest prints the manifest as indented JSON (`portico heroku manifest`).
// It holds the add-on's password and SSO salt: keep the output out of git.
func WriteManifest(w io.Writer, cfg config.Config) error {
	m, err := BuildManifest(cfg)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(m)
}
