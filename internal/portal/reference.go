package portal

import (
	"encoding/json"
	"fmt"
	"html/template"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"portico/internal/catalog"
)

// Reference limits: a hostile or enormous spec still renders in bounded time.
const (
	maxSchemaDepth = 6
	maxSchemaRows  = 200
	maxExampleLen  = 8 << 10
)

// reference is an API's OpenAPI document as the API page shows it.
type reference struct {
	Operations []operationView
	Schemas    []namedSchema
}

type operationView struct {
	Anchor      string
	Method      string
	Path        string
	Summary     string
	Description template.HTML
	Deprecated  bool
	Params      []paramView
	Body        *bodyView
	Responses   []responseView
	Scopes      []string
	Samples     []sample
}

type paramView struct {
	Name, In, Type, Description, Example string
	Required, Deprecated                 bool
}

type bodyView struct {
	ContentType string
	Required    bool
	Rows        []schemaRow
	Example     string
}

type responseView struct {
	Status, Description, ContentType string
	Rows                             []schemaRow
	Example                          string
}

// schemaRow is one property of a schema, flattened: Depth indents nested ones.
type schemaRow struct {
	Name        string
	Depth       int
	Type        string
	Required    bool
	Description string
	Enum        string
}

type namedSchema struct {
	Name string
	Rows []schemaRow
}

// methodOrder is the order operations of one path are listed in.
var methodOrder = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE"}

// buildReference reads the exported OpenAPI document (JSON, with the gateway URL
// as server) into the page's view. ops gives each operation's scopes.
func buildReference(spec []byte, ops []catalog.Operation, md *catalog.Markdown, gen sampleContext) (reference, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(spec)
	if err != nil {
		return reference{}, fmt.Errorf("portal: read OpenAPI: %w", err)
	}
	scopes := map[string][]string{}
	for _, o := range ops {
		scopes[o.Method+" "+o.Path] = o.ScopeList()
	}
	var ref reference
	paths := doc.Paths.Keys()
	sort.Strings(paths)
	for _, p := range paths {
		item := doc.Paths.Value(p)
		if item == nil {
			continue
		}
		for _, m := range methodOrder {
			op := item.GetOperation(m)
			if op == nil {
				continue
			}
			ov := operationView{Anchor: anchor(m, p), Method: m, Path: p, Summary: op.Summary, Deprecated: op.Deprecated,
				Scopes: scopes[m+" "+p]}
			if op.Description != "" {
				ov.Description = md.Render(op.Description)
			}
			params := append(openapi3.Parameters{}, item.Parameters...)
			params = append(params, op.Parameters...)
			seen := map[string]int{}
			for _, pr := range params {
				if pr == nil || pr.Value == nil {
					continue
				}
				pv := paramOf(pr.Value)
				key := pv.In + ":" + pv.Name
				if i, dup := seen[key]; dup { // the operation's overrides the path's
					ov.Params[i] = pv
					continue
				}
				seen[key] = len(ov.Params)
				ov.Params = append(ov.Params, pv)
			}
			if rb := op.RequestBody; rb != nil && rb.Value != nil {
				if ct, mt := pickContent(rb.Value.Content); mt != nil {
					ov.Body = &bodyView{ContentType: ct, Required: rb.Value.Required, Example: mediaExample(mt)}
					ov.Body.Rows = flatten(mt.Schema)
				}
			}
			if op.Responses != nil {
				codes := op.Responses.Keys()
				sort.Strings(codes)
				for _, code := range codes {
					r := op.Responses.Value(code)
					if r == nil || r.Value == nil {
						continue
					}
					rv := responseView{Status: code}
					if r.Value.Description != nil {
						rv.Description = *r.Value.Description
					}
					if ct, mt := pickContent(r.Value.Content); mt != nil {
						rv.ContentType, rv.Example, rv.Rows = ct, mediaExample(mt), flatten(mt.Schema)
					}
					ov.Responses = append(ov.Responses, rv)
				}
			}
			ov.Samples = gen.samples(ov)
			ref.Operations = append(ref.Operations, ov)
		}
	}
	if doc.Components != nil {
		names := make([]string, 0, len(doc.Components.Schemas))
		for n := range doc.Components.Schemas {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			ref.Schemas = append(ref.Schemas, namedSchema{Name: n, Rows: flatten(doc.Components.Schemas[n])})
		}
	}
	return ref, nil
}

// anchor is an operation's fragment id: "op-get-pets-id".
func anchor(method, path string) string {
	var b strings.Builder
	b.WriteString("op-" + strings.ToLower(method))
	dash := true
	for _, r := range strings.ToLower(path) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if !dash {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = true
			continue
		}
		dash = false
	}
	return b.String()
}

func paramOf(p *openapi3.Parameter) paramView {
	pv := paramView{Name: p.Name, In: p.In, Description: p.Description, Required: p.Required || p.In == openapi3.ParameterInPath, Deprecated: p.Deprecated}
	var ex any
	switch {
	case p.Example != nil:
		ex = p.Example
	case len(p.Examples) > 0:
		keys := make([]string, 0, len(p.Examples))
		for k := range p.Examples {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if e := p.Examples[keys[0]]; e != nil && e.Value != nil {
			ex = e.Value.Value
		}
	}
	if p.Schema != nil && p.Schema.Value != nil {
		pv.Type = typeName(p.Schema)
		if ex == nil {
			ex = firstOf(p.Schema.Value.Example, p.Schema.Value.Default)
			if ex == nil && len(p.Schema.Value.Enum) > 0 {
				ex = p.Schema.Value.Enum[0]
			}
		}
	}
	if ex != nil {
		pv.Example = scalarString(ex)
	}
	return pv
}

func firstOf(vs ...any) any {
	for _, v := range vs {
		if v != nil {
			return v
		}
	}
	return nil
}

func scalarString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// pickContent prefers JSON, then the first content type in name order.
func pickContent(c openapi3.Content) (string, *openapi3.MediaType) {
	if len(c) == 0 {
		return "", nil
	}
	if mt := c["application/json"]; mt != nil {
		return "application/json", mt
	}
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if strings.Contains(k, "json") {
			return k, c[k]
		}
	}
	return keys[0], c[keys[0]]
}

// mediaExample is the media type's example (its own, its first named one, or
// one made from its schema), as indented JSON or text.
func mediaExample(mt *openapi3.MediaType) string {
	var ex any
	switch {
	case mt.Example != nil:
		ex = mt.Example
	case len(mt.Examples) > 0:
		keys := make([]string, 0, len(mt.Examples))
		for k := range mt.Examples {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if e := mt.Examples[keys[0]]; e != nil && e.Value != nil {
			ex = e.Value.Value
		}
	}
	if ex == nil && mt.Schema != nil {
		ex = exampleOf(mt.Schema, 0, map[*openapi3.Schema]bool{})
	}
	if ex == nil {
		return ""
	}
	if s, ok := ex.(string); ok {
		return clipBytes(s, maxExampleLen)
	}
	b, err := json.MarshalIndent(ex, "", "  ")
	if err != nil {
		return ""
	}
	return clipBytes(string(b), maxExampleLen)
}

func clipBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "\n…"
}

// exampleOf makes a value that fits the schema, from its examples and defaults
// where it has them. Cycles and depth end in null.
func exampleOf(ref *openapi3.SchemaRef, depth int, seen map[*openapi3.Schema]bool) any {
	if ref == nil || ref.Value == nil || depth > maxSchemaDepth {
		return nil
	}
	s := ref.Value
	if s.Example != nil {
		return s.Example
	}
	if len(s.Examples) > 0 {
		return s.Examples[0]
	}
	if s.Default != nil {
		return s.Default
	}
	if len(s.Enum) > 0 {
		return s.Enum[0]
	}
	if seen[s] {
		return nil
	}
	seen[s] = true
	defer delete(seen, s)
	if len(s.AllOf) > 0 {
		out := map[string]any{}
		for _, part := range s.AllOf {
			if m, ok := exampleOf(part, depth+1, seen).(map[string]any); ok {
				for k, v := range m {
					out[k] = v
				}
			}
		}
		return out
	}
	for _, alts := range []openapi3.SchemaRefs{s.OneOf, s.AnyOf} {
		if len(alts) > 0 {
			return exampleOf(alts[0], depth+1, seen)
		}
	}
	switch {
	case s.Type.Includes("object") || len(s.Properties) > 0:
		out := map[string]any{}
		for name, p := range s.Properties {
			if p != nil && p.Value != nil && p.Value.ReadOnly {
				continue
			}
			out[name] = exampleOf(p, depth+1, seen)
		}
		return out
	case s.Type.Includes("array"):
		if v := exampleOf(s.Items, depth+1, seen); v != nil {
			return []any{v}
		}
		return []any{}
	case s.Type.Includes("integer"):
		return 0
	case s.Type.Includes("number"):
		return 0.0
	case s.Type.Includes("boolean"):
		return true
	case s.Type.Includes("string"):
		switch s.Format {
		case "date-time":
			return "2024-01-01T12:00:00Z"
		case "date":
			return "2024-01-01"
		case "email":
			return "user@example.com"
		case "uuid":
			return "0190a0a0-0000-7000-8000-000000000000"
		case "uri", "url":
			return "https://example.com"
		}
		return "string"
	}
	return nil
}

// typeName describes a schema in a few words: "string (date-time)",
// "array of Pet", "Pet".
func typeName(ref *openapi3.SchemaRef) string {
	if ref == nil || ref.Value == nil {
		return ""
	}
	if ref.Ref != "" {
		return refName(ref.Ref)
	}
	s := ref.Value
	switch {
	case len(s.AllOf) > 0:
		return "all of " + joinTypes(s.AllOf)
	case len(s.OneOf) > 0:
		return "one of " + joinTypes(s.OneOf)
	case len(s.AnyOf) > 0:
		return "any of " + joinTypes(s.AnyOf)
	}
	types := s.Type.Slice()
	t := strings.Join(types, " or ")
	if s.Type.Includes("array") {
		t = "array of " + typeName(s.Items)
	}
	if t == "" && len(s.Properties) > 0 {
		t = "object"
	}
	if s.Format != "" {
		t += " (" + s.Format + ")"
	}
	if s.Nullable {
		t += ", nullable"
	}
	return t
}

func joinTypes(refs openapi3.SchemaRefs) string {
	parts := make([]string, 0, len(refs))
	for _, r := range refs {
		parts = append(parts, typeName(r))
	}
	return strings.Join(parts, ", ")
}

func refName(ref string) string {
	if i := strings.LastIndexByte(ref, '/'); i >= 0 {
		return ref[i+1:]
	}
	return ref
}

// flatten lists a schema's properties, nested ones indented, up to
// maxSchemaDepth levels and maxSchemaRows rows; a schema met again inside itself
// is named, not expanded.
func flatten(ref *openapi3.SchemaRef) []schemaRow {
	var rows []schemaRow
	if ref == nil || ref.Value == nil {
		return nil
	}
	if len(objectProps(ref.Value)) == 0 && !ref.Value.Type.Includes("array") {
		return []schemaRow{{Name: "(body)", Type: typeName(ref), Description: ref.Value.Description, Enum: enumOf(ref.Value)}}
	}
	seen := map[*openapi3.Schema]bool{}
	var walk func(r *openapi3.SchemaRef, depth int)
	walk = func(r *openapi3.SchemaRef, depth int) {
		if r == nil || r.Value == nil || depth > maxSchemaDepth || seen[r.Value] {
			return
		}
		s := r.Value
		if s.Type.Includes("array") && s.Items != nil {
			if depth == 0 {
				rows = append(rows, schemaRow{Name: "[ ]", Type: typeName(r), Description: s.Description})
			}
			walk(s.Items, depth)
			return
		}
		seen[s] = true
		defer delete(seen, s)
		props, required := objectProps(s), requiredOf(s)
		names := make([]string, 0, len(props))
		for n := range props {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			if len(rows) >= maxSchemaRows {
				return
			}
			p := props[n]
			row := schemaRow{Name: n, Depth: depth, Type: typeName(p), Required: required[n]}
			if p != nil && p.Value != nil {
				row.Description, row.Enum = p.Value.Description, enumOf(p.Value)
			}
			rows = append(rows, row)
			if p != nil && p.Value != nil && !seen[p.Value] {
				walk(p, depth+1)
			}
		}
	}
	walk(ref, 0)
	return rows
}

// objectProps merges a schema's properties with those of its allOf parts.
func objectProps(s *openapi3.Schema) openapi3.Schemas {
	if len(s.AllOf) == 0 {
		return s.Properties
	}
	out := openapi3.Schemas{}
	for n, p := range s.Properties {
		out[n] = p
	}
	for _, part := range s.AllOf {
		if part != nil && part.Value != nil {
			for n, p := range objectProps(part.Value) {
				out[n] = p
			}
		}
	}
	return out
}

func requiredOf(s *openapi3.Schema) map[string]bool {
	out := map[string]bool{}
	for _, n := range s.Required {
		out[n] = true
	}
	for _, part := range s.AllOf {
		if part != nil && part.Value != nil {
			for n := range requiredOf(part.Value) {
				out[n] = true
			}
		}
	}
	return out
}

func enumOf(s *openapi3.Schema) string {
	if len(s.Enum) == 0 {
		return ""
	}
	parts := make([]string, 0, len(s.Enum))
	for _, e := range s.Enum {
		parts = append(parts, scalarString(e))
	}
	return strings.Join(parts, ", ")
}
