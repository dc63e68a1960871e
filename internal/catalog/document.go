package catalog

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"html/template"
	"strings"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"

	"portico/internal/account"
	"portico/internal/platform/apperr"
)

// DocumentInput creates or changes a document.
type DocumentInput struct {
	Title string `json:"title"`
	Body  string `json:"body"`
}

func checkDocument(in DocumentInput) (DocumentInput, error) {
	in.Title = strings.TrimSpace(in.Title)
	if in.Title == "" || len(in.Title) > 200 {
		return in, apperr.Invalid("title", "invalid_title", "Give the document a title of 1 to 200 characters.")
	}
	if len(in.Body) > MaxDocumentLen {
		return in, apperr.Invalid("body", "invalid_body", fmt.Sprintf("The document is longer than %d characters.", MaxDocumentLen))
	}
	return in, nil
}

// Markdown renders publisher-written Markdown to HTML that is safe to show: raw
// HTML in the source is sanitised (scripts, event handlers and javascript: URLs
// go), links open without passing the referrer's opener.
type Markdown struct {
	md     goldmark.Markdown
	policy *bluemonday.Policy
	strict *bluemonday.Policy
}

// NewMarkdown returns a renderer with GitHub-flavoured tables, strikethrough,
// task lists and autolinks.
func NewMarkdown() *Markdown {
	p := bluemonday.UGCPolicy()
	p.AllowAttrs("class").Matching(bluemonday.SpaceSeparatedTokens).OnElements("code", "pre")
	p.RequireNoReferrerOnLinks(true)
	return &Markdown{md: goldmark.New(goldmark.WithExtensions(extension.GFM)), policy: p, strict: bluemonday.StrictPolicy()}
}

// PlainText returns src's text without Markdown or HTML: for summaries such as
// catalogue cards, where "**Adopt**" must read "Adopt".
func (m *Markdown) PlainText(src string) string {
	var buf bytes.Buffer
	if err := m.md.Convert([]byte(src), &buf); err != nil {
		return src
	}
	return strings.Join(strings.Fields(html.UnescapeString(m.strict.Sanitize(buf.String()))), " ")
}

// Render returns the sanitised HTML of src.
func (m *Markdown) Render(src string) template.HTML {
	var buf bytes.Buffer
	if err := m.md.Convert([]byte(src), &buf); err != nil {
		return template.HTML(template.HTMLEscapeString(src))
	}
	return template.HTML(m.policy.SanitizeBytes(buf.Bytes())) //nolint:gosec // sanitised just above
}

// Documents lists an API's documents.
func (s *Service) Documents(ctx context.Context, p account.Principal, apiID string) ([]Document, error) {
	a, err := s.API(ctx, p, apiID)
	if err != nil {
		return nil, err
	}
	return s.repo.documents(ctx, a.ID)
}

// Document returns one document of an API.
func (s *Service) Document(ctx context.Context, p account.Principal, apiID, id string) (Document, error) {
	a, err := s.API(ctx, p, apiID)
	if err != nil {
		return Document{}, err
	}
	return s.repo.document(ctx, a.ID, id)
}

// CreateDocument adds a document to an API.
func (s *Service) CreateDocument(ctx context.Context, p account.Principal, apiID string, in DocumentInput) (Document, error) {
	var out Document
	err := s.st.InTx(ctx, func(ctx context.Context) error {
		a, err := s.managed(ctx, p, apiID)
		if err != nil {
			return err
		}
		in, err := checkDocument(in)
		if err != nil {
			return err
		}
		docs, err := s.repo.documents(ctx, a.ID)
		if err != nil {
			return err
		}
		now := s.now()
		d := Document{ID: account.NewID(), APIID: a.ID, Title: in.Title, Body: in.Body, Position: len(docs) + 1, CreatedAt: now, UpdatedAt: now}
		if err := s.repo.saveDocument(ctx, &d); err != nil {
			return err
		}
		out = d
		return s.accounts.Audit(ctx, p, "document.create", "api", a.ID, map[string]any{"document": d.ID, "title": d.Title})
	})
	return out, err
}

// UpdateDocument replaces a document's title and body.
func (s *Service) UpdateDocument(ctx context.Context, p account.Principal, apiID, id string, in DocumentInput) (Document, error) {
	var out Document
	err := s.st.InTx(ctx, func(ctx context.Context) error {
		a, err := s.managed(ctx, p, apiID)
		if err != nil {
			return err
		}
		d, err := s.repo.document(ctx, a.ID, id)
		if err != nil {
			return err
		}
		in, err := checkDocument(in)
		if err != nil {
			return err
		}
		d.Title, d.Body, d.UpdatedAt = in.Title, in.Body, s.now()
		if err := s.repo.saveDocument(ctx, &d); err != nil {
			return err
		}
		out = d
		return s.accounts.Audit(ctx, p, "document.update", "api", a.ID, map[string]any{"document": d.ID})
	})
	return out, err
}

// DeleteDocument removes a document.
func (s *Service) DeleteDocument(ctx context.Context, p account.Principal, apiID, id string) error {
	return s.st.InTx(ctx, func(ctx context.Context) error {
		a, err := s.managed(ctx, p, apiID)
		if err != nil {
			return err
		}
		if err := s.repo.deleteDocument(ctx, a.ID, id); err != nil {
			return err
		}
		return s.accounts.Audit(ctx, p, "document.delete", "api", a.ID, map[string]any{"document": id})
	})
}
