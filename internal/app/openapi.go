package app

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"sort"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"
	"gopkg.in/yaml.v3"
)

// openAPIFiles describe the management API, one file a module: 00_base.yaml holds
// the info, security and shared components; every other file adds its module's
// paths and schemas. A test checks that every route under /api/v1 appears in the
// merged document and that it is valid OpenAPI 3.
//
//go:embed openapi/*.yaml
var openAPIFiles embed.FS

// managementDoc merges, validates and serialises the document once.
var managementDoc = sync.OnceValues(func() ([]byte, error) {
	doc, err := loadManagementDoc()
	if err != nil {
		return nil, err
	}
	return json.Marshal(doc)
})

func loadManagementDoc() (*openapi3.T, error) {
	names, err := fs.Glob(openAPIFiles, "openapi/*.yaml")
	if err != nil {
		return nil, err
	}
	sort.Strings(names) // 00_base.yaml first
	merged := map[string]any{}
	for _, name := range names {
		b, err := openAPIFiles.ReadFile(name)
		if err != nil {
			return nil, err
		}
		var part map[string]any
		if err := yaml.Unmarshal(b, &part); err != nil {
			return nil, fmt.Errorf("app: %s: %w", name, err)
		}
		if err := mergeInto(merged, part, name); err != nil {
			return nil, err
		}
	}
	raw, err := json.Marshal(merged)
	if err != nil {
		return nil, fmt.Errorf("app: management OpenAPI: %w", err)
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(raw)
	if err != nil {
		return nil, fmt.Errorf("app: management OpenAPI: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("app: management OpenAPI is invalid: %w", err)
	}
	return doc, nil
}

// mergeInto adds src's maps into dst, two levels deep (paths, components.schemas,
// ...). The same leaf defined twice is an error, so modules cannot clobber each other.
func mergeInto(dst, src map[string]any, file string) error {
	for k, v := range src {
		existing, ok := dst[k]
		if !ok {
			dst[k] = v
			continue
		}
		em, ok1 := existing.(map[string]any)
		vm, ok2 := v.(map[string]any)
		if !ok1 || !ok2 {
			return fmt.Errorf("app: %s redefines %q", file, k)
		}
		if k == "paths" {
			for p, item := range vm {
				if _, dup := em[p]; dup {
					return fmt.Errorf("app: %s redefines path %s", file, p)
				}
				em[p] = item
			}
			continue
		}
		if err := mergeInto(em, vm, file); err != nil {
			return err
		}
	}
	return nil
}

func openAPIHandler(c echo.Context) error {
	b, err := managementDoc()
	if err != nil {
		return err
	}
	return c.JSONBlob(http.StatusOK, b)
}
