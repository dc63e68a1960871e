// Package render parses Portico's HTML templates once, from an fs.FS, and renders
// pages by name with a typed view model. Every page template is parsed together with
// the shared layouts and partials, so pages stay independent of each other.
//
// A page file defines "title" and "content"; layouts/base.html wraps them. Names are
// the page's path under the templates root without ".html" ("account/login").
// render imports only the standard library.
package render

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

// Renderer holds every parsed page. It is safe for concurrent use.
type Renderer struct {
	pages map[string]*template.Template
}

// Base is what the layout needs from every page's view model. Pages embed it.
type Base struct {
	Title     string
	CSRFToken string
	// Area is the UI the page belongs to: "portal", "publisher" or "admin".
	Area    string
	User    *User
	OrgName string
	OrgSlug string
	Flash   string
	// Branding of the organisation the page is about: a logo URL, and the brand
	// colour with the ink that reads on it (the layout sets --brand, --brand-ink).
	LogoURL    string
	BrandColor string
	BrandInk   string
}

// User is the signed-in person as the layout shows them.
type User struct {
	Email string
	Role  string
}

// Layout returns the base itself, so the layout can reach it as {{.Layout}} from
// any page model that embeds Base.
func (b Base) Layout() Base { return b }

// New parses every *.html under pagesDirs with the files under layouts/ and
// partials/ of fsys.
func New(fsys fs.FS, funcs template.FuncMap) (*Renderer, error) {
	shared, err := sharedFiles(fsys)
	if err != nil {
		return nil, err
	}
	fm := template.FuncMap{
		"date":  func(t time.Time) string { return t.UTC().Format("2 Jan 2006") },
		"since": func(t time.Time) string { return time.Since(t).Round(time.Second).String() },
		"lower": strings.ToLower,
	}
	for k, v := range funcs {
		fm[k] = v
	}
	r := &Renderer{pages: map[string]*template.Template{}}
	err = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(p, ".html") || isShared(p) {
			return nil
		}
		t := template.New(path.Base(p)).Funcs(fm)
		if _, err := t.ParseFS(fsys, append(shared, p)...); err != nil {
			return fmt.Errorf("render: parse %s: %w", p, err)
		}
		r.pages[strings.TrimSuffix(p, ".html")] = t
		return nil
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

func isShared(p string) bool {
	return strings.HasPrefix(p, "layouts/") || strings.HasPrefix(p, "partials/")
}

func sharedFiles(fsys fs.FS) ([]string, error) {
	var out []string
	for _, dir := range []string{"layouts", "partials"} {
		m, err := fs.Glob(fsys, dir+"/*.html")
		if err != nil {
			return nil, err
		}
		out = append(out, m...)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("render: no layouts found")
	}
	return out, nil
}

// Has reports whether a page of that name exists.
func (r *Renderer) Has(name string) bool { _, ok := r.pages[name]; return ok }

// Render writes page name with data. The page is rendered into a buffer first, so
// a template error never leaves half a page on the wire.
func (r *Renderer) Render(w io.Writer, name string, data any) error {
	t, ok := r.pages[name]
	if !ok {
		return fmt.Errorf("render: no page %q", name)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "base", data); err != nil {
		return fmt.Errorf("render: %s: %w", name, err)
	}
	_, err := buf.WriteTo(w)
	return err
}

// Page renders name as a complete HTML answer with status.
func (r *Renderer) Page(w http.ResponseWriter, status int, name string, data any) error {
	var buf bytes.Buffer
	if err := r.Render(&buf, name, data); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	// base-uri does not fall back to default-src: without it an injected <base>
	// could point every relative script at another origin.
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data: https:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'")
	w.WriteHeader(status)
	_, err := buf.WriteTo(w)
	return err
}

// Field is a form input as the "field" partial draws it: label, value kept after a
// refused submit, and the error next to it.
type Field struct {
	Name, Label, Type, Value, Error, Auto string
	Required                              bool
}
