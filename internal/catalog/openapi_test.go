package catalog

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"portico/internal/platform/apperr"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseSpecReadsPetstore(t *testing.T) {
	spec, err := ParseSpec(context.Background(), readTestdata(t, "petstore.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	im := spec.Extract()
	if im.Name != "Swagger Petstore" || im.Version != "1.0.0" || im.Backend != "https://petstore3.swagger.io/api/v3" {
		t.Fatalf("extracted %+v", im)
	}
	if len(im.Operations) != 5 {
		t.Fatalf("%d operations, want 5", len(im.Operations))
	}
	byKey := map[string]OperationInput{}
	for _, op := range im.Operations {
		byKey[op.Method+" "+op.Path] = op
	}
	if op := byKey["POST /pet"]; strings.Join(op.Scopes, " ") != "write:pets read:pets" || !*op.Auth {
		t.Errorf("POST /pet: %+v", op)
	}
	if op := byKey["GET /store/inventory"]; *op.Auth {
		t.Errorf("GET /store/inventory has security: [] but auth is on")
	}
	if op := byKey["GET /pet/findByStatus"]; strings.Join(op.Scopes, " ") != "read:pets" {
		t.Errorf("GET /pet/findByStatus inherits the document's scopes; got %v", op.Scopes)
	}
	if strings.Join(im.AuthTypes, ",") != "oauth2,api_key" {
		t.Errorf("auth types %v", im.AuthTypes)
	}
}

func TestParseSpecConvertsSwagger2(t *testing.T) {
	spec, err := ParseSpec(context.Background(), readTestdata(t, "swagger2.json"))
	if err != nil {
		t.Fatal(err)
	}
	im := spec.Extract()
	if spec.Source != "2.0" || !strings.HasPrefix(spec.Doc.OpenAPI, "3.") {
		t.Fatalf("source %s, openapi %s", spec.Source, spec.Doc.OpenAPI)
	}
	if im.Backend != "https://legacy.example.com/v2" || len(im.Operations) != 1 || im.Operations[0].Scopes[0] != "pets:read" {
		t.Fatalf("extracted %+v", im)
	}
	if len(spec.Notes) == 0 || !strings.Contains(spec.Notes[0], "Swagger 2.0") {
		t.Errorf("notes %v", spec.Notes)
	}
}

func TestParseSpecNotes31Honestly(t *testing.T) {
	spec, err := ParseSpec(context.Background(), readTestdata(t, "openapi31.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	notes := strings.Join(spec.Notes, "\n")
	for _, want := range []string{"webhooks (1)", "jsonSchemaDialect", "license.identifier"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q: %s", want, notes)
		}
	}
	if spec.Source != "3.1" || len(spec.Extract().Operations) != 1 {
		t.Errorf("source %s", spec.Source)
	}
}

// TestParseSpecRefusesBrokenSpecs checks each kind of broken document gets its
// own error, saying what is wrong and where.
func TestParseSpecRefusesBrokenSpecs(t *testing.T) {
	huge := "openapi: 3.0.3\ninfo: {title: x, version: '1'}\npaths: {}\nx-pad: '" + strings.Repeat("a", MaxSpecBytes) + "'\n"
	bomb := "openapi: 3.0.3\ninfo: {title: x, version: '1'}\npaths: {}\na: &a [x, x, x, x, x, x, x, x, x, x]\n"
	prev := "a"
	for _, n := range []string{"b", "c", "d", "e", "f", "g", "h"} {
		bomb += n + ": &" + n + " [*" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + "]\n"
		prev = n
	}
	tests := []struct {
		name string
		spec string
		kind apperr.Kind
		code string
		want []string // substrings of the message
	}{
		{"empty", "", apperr.KindInvalid, "empty_spec", []string{"empty"}},
		{"only whitespace", " \n\t\n", apperr.KindInvalid, "empty_spec", nil},
		{"huge", huge, apperr.KindTooLarge, "spec_too_large", []string{"10 MiB"}},
		{"binary with NUL", "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", apperr.KindInvalid, "binary_spec", []string{"byte 8"}},
		{"invalid UTF-8", "openapi: 3.0.3\ninfo: {title: \xff\xfe}\n", apperr.KindInvalid, "binary_spec", []string{"byte 29"}},
		{"bad YAML", "openapi: 3.0.3\ninfo: {title: x\n  version: 1\npaths: {}\n", apperr.KindInvalid, "invalid_yaml", []string{"line"}},
		{"bad JSON", "{\"openapi\": \"3.0.3\",\n \"info\": {\"title\": \"x\",}\n}", apperr.KindInvalid, "invalid_json", []string{"line 2"}},
		{"a list, not a document", "- a\n- b\n", apperr.KindInvalid, "invalid_spec", []string{"object"}},
		{"no openapi field", "info: {title: x, version: '1'}\npaths: {}\n", apperr.KindInvalid, "not_openapi", nil},
		{"openapi as a number", "openapi: 3.0\ninfo: {title: x, version: '1'}\npaths: {}\n", apperr.KindInvalid, "invalid_version_field", []string{"line 1"}},
		{"unsupported version", "openapi: 4.0.0\ninfo: {title: x, version: '1'}\npaths: {}\n", apperr.KindInvalid, "unsupported_version", nil},
		{"swagger 1.2", "swagger: '1.2'\n", apperr.KindInvalid, "unsupported_version", nil},
		{"unresolved $ref", `openapi: 3.0.3
info: {title: x, version: "1"}
paths:
  /pets:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Nope"}
`, apperr.KindInvalid, "unresolved_ref", []string{"#/components/schemas/Nope", "line 11", "paths./pets.get"}},
		{"external $ref", `openapi: 3.0.3
info: {title: x, version: "1"}
paths:
  /pets:
    get:
      responses:
        "200": {$ref: "http://169.254.169.254/latest/meta-data.yaml"}
`, apperr.KindInvalid, "external_ref", []string{"line 7"}},
		{"file $ref", `openapi: 3.0.3
info: {title: x, version: "1"}
paths:
  /pets:
    $ref: "/etc/passwd"
`, apperr.KindInvalid, "external_ref", []string{"/etc/passwd", "line 5"}},
		{"wrong type: parameters a string", `openapi: 3.0.3
info: {title: x, version: "1"}
paths:
  /pets:
    get:
      parameters: "nope"
      responses: {"200": {description: ok}}
`, apperr.KindInvalid, "invalid_spec_type", []string{"parameters must be a list", "line 6"}},
		{"wrong type: version a number", "openapi: 3.0.3\ninfo: {title: x, version: 1}\npaths: {}\n", apperr.KindInvalid, "invalid_spec_type", []string{"version must be a string", "line 2"}},
		{"invalid: missing path parameter", `openapi: 3.0.3
info: {title: x, version: "1"}
paths:
  /pets/{id}:
    get:
      responses: {"200": {description: ok}}
`, apperr.KindInvalid, "invalid_spec", []string{"id", "paths./pets/{id}.get", "line 5"}},
		{"invalid: no info", "openapi: 3.0.3\npaths: {}\n", apperr.KindInvalid, "invalid_spec", []string{"info"}},
		{"alias bomb", bomb, apperr.KindInvalid, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec, err := ParseSpec(context.Background(), []byte(tt.spec))
			if err == nil {
				t.Fatalf("accepted: %+v", spec.Extract())
			}
			e, ok := apperr.As(err)
			if !ok {
				t.Fatalf("error %v is not an apperr", err)
			}
			if e.Kind != tt.kind || (tt.code != "" && e.Code != tt.code) {
				t.Fatalf("kind %v code %s (%s); want %v %s", e.Kind, e.Code, e.Message, tt.kind, tt.code)
			}
			for _, w := range tt.want {
				if !strings.Contains(e.Message, w) {
					t.Errorf("message %q lacks %q", e.Message, w)
				}
			}
			if e.Field != "spec" {
				t.Errorf("field %q, want spec", e.Field)
			}
			t.Logf("%s: %s", e.Code, e.Message)
		})
	}
}

func TestExportUsesGatewayAndOperations(t *testing.T) {
	spec, err := ParseSpec(context.Background(), readTestdata(t, "petstore.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(spec.Doc)
	a := API{ID: "x", Name: "Pets", Version: "v9", OpenAPI: string(raw)}
	ops := []Operation{{Method: "GET", Path: "/pet/{petId}", Summary: "Fetch a pet"}, {Method: "GET", Path: "/owners/{ownerId}", Summary: "New"}}
	out, err := Export(a, ops, "https://gw.example.com/pets/v9")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseSpec(context.Background(), out); err != nil {
		t.Fatalf("export is not valid: %v", err)
	}
	var doc struct {
		Info    struct{ Title, Version string }
		Servers []struct{ URL string }
		Paths   map[string]map[string]struct{ Summary string }
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Servers) != 1 || doc.Servers[0].URL != "https://gw.example.com/pets/v9" || doc.Info.Version != "v9" {
		t.Fatalf("servers %+v info %+v", doc.Servers, doc.Info)
	}
	if doc.Paths["/pet/{petId}"]["get"].Summary != "Fetch a pet" || doc.Paths["/owners/{ownerId}"]["get"].Summary != "New" {
		t.Errorf("paths %+v", doc.Paths)
	}
	if _, kept := doc.Paths["/pet"]; kept {
		t.Errorf("removed operation POST /pet still exported")
	}
}

func TestMarkdownIsSanitised(t *testing.T) {
	md := NewMarkdown()
	out := string(md.Render("# Hi\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1)) <img src=x onerror=alert(1)>\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"))
	for _, bad := range []string{"<script", "javascript:", "onerror"} {
		if strings.Contains(out, bad) {
			t.Errorf("rendered HTML keeps %q: %s", bad, out)
		}
	}
	if !strings.Contains(out, "<h1") || !strings.Contains(out, "<table>") {
		t.Errorf("rendered HTML lost the Markdown: %s", out)
	}
}
