package catalog

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"portico/internal/account"
	"portico/internal/platform/apperr"
)

// ImportInput is a spec to import: its text, or a URL to fetch it from, and what
// the spec cannot say (the context) or what should override it.
type ImportInput struct {
	Spec       string    `json:"spec"`
	URL        string    `json:"url"`
	Context    string    `json:"context"`
	BackendURL string    `json:"backend_url"`
	Version    string    `json:"version"`
	Name       string    `json:"name"`
	Tiers      *[]string `json:"tiers"`
	Visibility *string   `json:"visibility"`
}

// ImportResult is the new API and what the import noticed.
type ImportResult struct {
	API        API
	Operations int
	Source     string
	Notes      []string
}

// Import creates an API from an OpenAPI 3.0/3.1 or Swagger 2.0 document: name,
// version, description, tags, backend (the first absolute server), auth types and
// operations with their scopes come from the spec unless given. Nothing is
// stored when the spec is invalid.
func (s *Service) Import(ctx context.Context, p account.Principal, in ImportInput) (ImportResult, error) {
	if err := canManage(p); err != nil {
		return ImportResult{}, err
	}
	data := []byte(in.Spec)
	if strings.TrimSpace(in.Spec) == "" && strings.TrimSpace(in.URL) != "" {
		b, err := s.fetch.get(ctx, strings.TrimSpace(in.URL))
		if err != nil {
			return ImportResult{}, err
		}
		data = b
	}
	spec, err := ParseSpec(ctx, data)
	if err != nil {
		return ImportResult{}, err
	}
	im := spec.Extract()
	api := APIInput{Context: in.Context, Version: firstNonEmpty(in.Version, im.Version), Tiers: in.Tiers, Visibility: in.Visibility}
	name := firstNonEmpty(in.Name, im.Name)
	api.Name = &name
	if in.Version == "" {
		if v, err := CheckVersion(api.Version); err != nil {
			return ImportResult{}, apperr.Invalid("version", "invalid_version",
				fmt.Sprintf("The spec's info.version %q cannot be an API version (1 to 32 letters, digits, '.', '-' or '_'); send a version.", im.Version))
		} else {
			api.Version = v
		}
	}
	desc := im.Description
	if len(desc) > MaxDescriptionLen {
		desc = desc[:MaxDescriptionLen]
	}
	api.Description = &desc
	api.Tags = &im.Tags
	if backend := firstNonEmpty(in.BackendURL, im.Backend); backend != "" {
		api.BackendURL = &backend
	}
	if len(im.AuthTypes) > 0 {
		api.Auth = &im.AuthTypes
	}
	doc, err := json.Marshal(spec.Doc)
	if err != nil {
		return ImportResult{}, fmt.Errorf("catalog: encode imported spec: %w", err)
	}
	var res ImportResult
	err = s.st.InTx(ctx, func(ctx context.Context) error {
		a, err := s.create(ctx, p, api, im.Operations)
		if err != nil {
			return err
		}
		a.OpenAPI = string(doc)
		if err := s.repo.saveAPI(ctx, &a); err != nil {
			return err
		}
		res = ImportResult{API: a, Operations: len(im.Operations), Source: spec.Source, Notes: spec.Notes}
		return s.accounts.Audit(ctx, p, "api.import", "api", a.ID, map[string]any{"context": a.Context, "version": a.Version, "operations": len(im.Operations), "source": spec.Source})
	})
	return res, err
}

// ReplaceSpec stores a new OpenAPI document for an existing API and brings its
// operations in line: operations the spec no longer has go, new ones are added,
// and those kept keep their limits.
func (s *Service) ReplaceSpec(ctx context.Context, p account.Principal, id, text string) (ImportResult, error) {
	if err := canManage(p); err != nil {
		return ImportResult{}, err
	}
	spec, err := ParseSpec(ctx, []byte(text))
	if err != nil {
		return ImportResult{}, err
	}
	im := spec.Extract()
	doc, err := json.Marshal(spec.Doc)
	if err != nil {
		return ImportResult{}, fmt.Errorf("catalog: encode spec: %w", err)
	}
	var res ImportResult
	err = s.st.InTx(ctx, func(ctx context.Context) error {
		a, err := s.managed(ctx, p, id)
		if err != nil {
			return err
		}
		cur, err := s.repo.operations(ctx, a.ID, "", 0)
		if err != nil {
			return err
		}
		limits := map[string]Limit{}
		for _, op := range cur {
			limits[op.Method+" "+op.Path] = Limit{Requests: op.LimitRequests, Per: op.LimitPer}
		}
		for i, op := range im.Operations {
			if l, ok := limits[op.Method+" "+op.Path]; ok && l.Requests > 0 {
				im.Operations[i].Limit = &l
			}
		}
		if err := s.repo.deleteOperations(ctx, a.ID); err != nil {
			return err
		}
		if err := s.addOperations(ctx, a.ID, im.Operations); err != nil {
			return err
		}
		a.OpenAPI, a.UpdatedAt = string(doc), s.now()
		if err := s.repo.saveAPI(ctx, &a); err != nil {
			return err
		}
		if _, err := s.st.BumpConfigVersion(ctx); err != nil {
			return err
		}
		res = ImportResult{API: a, Operations: len(im.Operations), Source: spec.Source, Notes: spec.Notes}
		return s.accounts.Audit(ctx, p, "api.spec", "api", a.ID, map[string]any{"operations": len(im.Operations)})
	})
	return res, err
}

// ValidateSpec parses and validates a document without storing anything, for
// the editor's validation as you type.
func (s *Service) ValidateSpec(ctx context.Context, p account.Principal, text string) (*Spec, error) {
	if err := canManage(p); err != nil {
		return nil, err
	}
	return ParseSpec(ctx, []byte(text))
}

func firstNonEmpty(xs ...string) string {
	for _, x := range xs {
		if strings.TrimSpace(x) != "" {
			return strings.TrimSpace(x)
		}
	}
	return ""
}
