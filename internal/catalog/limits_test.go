package catalog_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"portico/internal/app/apptest"
	"portico/internal/catalog"
	"portico/internal/platform/apperr"
)

const hostileHead = "openapi: 3.0.3\ninfo: {title: Hostile, version: '1'}\n"

// schemaDoc is a document whose one operation answers with schema S0 and whose
// components hold the given schema lines ("    Name: {...}").
func schemaDoc(schemas string) string {
	return hostileHead + `paths:
  /x:
    get:
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema: {$ref: '#/components/schemas/S0'}
components:
  schemas:
` + schemas
}

// refChain is n definitions each referring to the next through form, ending in
// a string.
func refChain(n int, form string) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "    S%d: "+form+"\n", i, i+1)
	}
	fmt.Fprintf(&b, "    S%d: {type: string}\n", n)
	return schemaDoc(b.String())
}

// aliasBomb is the YAML "billion laughs": levels anchors, each a list of ten
// aliases of the previous one, 10^levels values once expanded.
func aliasBomb(levels int) string {
	b := hostileHead + "paths: {}\nx-l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
	for i := 1; i <= levels; i++ {
		p := fmt.Sprintf("*l%d", i-1)
		b += fmt.Sprintf("x-l%d: &l%d [%s]\n", i, i, strings.Repeat(p+", ", 9)+p)
	}
	return b
}

// manyPaths is a JSON document with paths path items of the given methods,
// each an empty operation: the counts are refused before anything else looks.
func manyPaths(paths int, methods []string) string {
	var b strings.Builder
	b.WriteString(`{"openapi":"3.0.3","info":{"title":"x","version":"1"},` + "\n" + `"paths":{`)
	for i := 0; i < paths; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"/p%d":{`, i)
		for j, m := range methods {
			if j > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"%s":{}`, m)
		}
		b.WriteByte('}')
	}
	b.WriteString("}}")
	return b.String()
}

// hostileSpecs are small documents that cost far more than their size, each
// with the refusal it must get.
func hostileSpecs() []struct {
	name, spec, code string
	want             []string
} {
	deepJSON := `{"openapi":"3.0.3","info":{"title":"x","version":"1"},"paths":{},"components":{"schemas":{"A":` +
		strings.Repeat(`{"type":"object","properties":{"a":`, 150) + `{"type":"string"}` + strings.Repeat("}}", 150) + `}}}`
	refs := hostileHead + "paths: {}\ncomponents: {schemas: {A: {type: string}}}\nx-refs:\n" +
		strings.Repeat("- $ref: '#/components/schemas/A'\n", catalog.MaxSpecRefs+1)
	return []struct {
		name, spec, code string
		want             []string
	}{
		{"a YAML alias bomb (10^9 values)", aliasBomb(8), "yaml_alias_expansion", []string{"billion laughs", "line ", "alias *l"}},
		{"a $ref to itself", schemaDoc("    S0: {$ref: '#/components/schemas/S0'}\n"), "ref_cycle",
			[]string{"#/components/schemas/S0 → #/components/schemas/S0", "at components.schemas.S0 (line 14)"}},
		{"two $refs pointing at each other", schemaDoc("    S0: {$ref: '#/components/schemas/S1'}\n    S1: {$ref: '#/components/schemas/S0'}\n"), "ref_cycle",
			[]string{"goes round in a circle", "#/components/schemas/S1", "line "}},
		{"a chain of 65 $refs", refChain(65, "{$ref: '#/components/schemas/S%d'}"), "ref_too_deep", []string{"65 definitions deep", "up to 64", "at components.schemas.S1 (line 15)"}},
		{"a chain of 2,000 schemas through properties", refChain(2_000, "{type: object, properties: {next: {$ref: '#/components/schemas/S%d'}}}"), "ref_too_deep",
			[]string{"65 definitions deep", "at components.schemas.S1936 (line 1950)"}},
		{"a chain of 2,000 schemas through allOf", refChain(2_000, "{allOf: [{$ref: '#/components/schemas/S%d'}]}"), "ref_too_deep", []string{"at components.schemas.S1936 (line 1950)"}},
		{"YAML nested 300 deep", hostileHead + "paths: {}\nx-deep: " + strings.Repeat("[", 300) + strings.Repeat("]", 300) + "\n", "spec_too_deep",
			[]string{"more than 200 levels", "x-deep.0.0", "line 4"}},
		{"YAML nested 100,000 deep", hostileHead + "paths: {}\nx-deep: " + strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000) + "\n", "invalid_yaml", []string{"depth", "line 4"}},
		{"a schema nested 150 properties deep (JSON)", deepJSON, "spec_too_deep", []string{"components.schemas.A.properties.a", "…"}},
		{"more paths than an API may have", manyPaths(catalog.MaxSpecPaths+1, []string{"get"}), "too_many_paths", []string{"5001 paths", "up to 5000", "at paths (line 2)"}},
		{"more operations than an API may have", manyPaths(1429, []string{"get", "put", "post", "delete", "patch", "head", "options"}), "too_many_operations",
			[]string{"10003 operations", "up to 10000", "at paths (line 2)"}},
		{"more $refs than a document may have", refs, "too_many_refs", []string{"more than 100000 $refs", "line 100006"}},
	}
}

// TestParseSpecRefusesHostileDocuments checks each document that would cost far
// more than its size is refused with a 400 saying what and where, before the
// expensive part; how long the refusal took is logged (the benchmark below
// measures it properly).
func TestParseSpecRefusesHostileDocuments(t *testing.T) {
	for _, tt := range hostileSpecs() {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			spec, err := catalog.ParseSpec(context.Background(), []byte(tt.spec))
			took := time.Since(start)
			if err == nil {
				t.Fatalf("accepted, with %d operations", len(spec.Extract().Operations))
			}
			e, ok := apperr.As(err)
			if !ok || e.Kind != apperr.KindInvalid || e.Code != tt.code || e.Field != "spec" {
				t.Fatalf("error %v; want a 400 %s on spec", err, tt.code)
			}
			for _, w := range tt.want {
				if !strings.Contains(e.Message, w) {
					t.Errorf("message %q lacks %q", e.Message, w)
				}
			}
			t.Logf("%d bytes refused in %v: %s", len(tt.spec), took.Round(time.Microsecond), e.Message)
		})
	}
}

// TestParseSpecAcceptsWhatLooksHostileButIsNot checks the limits leave real
// documents alone: recursive schemas, shared definitions and YAML anchors.
func TestParseSpecAcceptsWhatLooksHostileButIsNot(t *testing.T) {
	var diamond strings.Builder
	for i := 0; i < 30; i++ {
		fmt.Fprintf(&diamond, "    S%d: {allOf: [{$ref: '#/components/schemas/S%d'}, {$ref: '#/components/schemas/S%d'}]}\n", i, i+1, i+1)
	}
	diamond.WriteString("    S30: {type: string}\n")
	tests := []struct{ name, spec string }{
		{"a recursive schema (a linked list)", schemaDoc("    S0: {type: object, properties: {value: {type: string}, next: {$ref: '#/components/schemas/S0'}}}\n")},
		{"mutually recursive schemas", schemaDoc("    S0: {type: object, properties: {b: {$ref: '#/components/schemas/S1'}}}\n    S1: {type: object, properties: {a: {$ref: '#/components/schemas/S0'}, c: {$ref: '#/components/schemas/S2'}}}\n    S2: {$ref: '#/components/schemas/S0'}\n")},
		{"a $ref to a $ref to a schema", schemaDoc("    S0: {$ref: '#/components/schemas/S1'}\n    S1: {$ref: '#/components/schemas/S2'}\n    S2: {type: string}\n")},
		{"a chain of 63 $refs", refChain(63, "{$ref: '#/components/schemas/S%d'}")},
		{"a 30-level diamond of shared definitions (2^30 paths)", schemaDoc(diamond.String())},
		{"YAML anchors for shared responses", hostileHead + "x-ok: &ok {description: ok}\npaths:\n  /a: {get: {responses: {'200': *ok}}}\n  /b: {get: {responses: {'200': *ok}}}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec, err := catalog.ParseSpec(context.Background(), []byte(tt.spec))
			if err != nil {
				t.Fatal(err)
			}
			if len(spec.Extract().Operations) == 0 {
				t.Fatal("no operations")
			}
		})
	}
}

// TestImportRefusesHostileDocuments checks the refusals reach the user of the
// management API as 400s saying what and where, and nothing is stored.
func TestImportRefusesHostileDocuments(t *testing.T) {
	apptest.Each(t, func(t *testing.T, s *apptest.Server) {
		admin := s.AdminToken(t)
		for i, tt := range hostileSpecs()[:4] {
			t.Run(tt.name, func(t *testing.T) {
				r := s.Do(t, http.MethodPost, "/api/v1/apis/import", admin, map[string]any{"spec": tt.spec, "context": fmt.Sprintf("hostile%d", i)})
				if r.Status != http.StatusBadRequest || r.ErrorCode() != tt.code || !strings.Contains(string(r.Body), "line ") {
					t.Fatalf("%d %.300s; want 400 %s with a line", r.Status, r.Body, tt.code)
				}
				if got := s.Do(t, http.MethodGet, fmt.Sprintf("/api/v1/apis?q=hostile%d", i), admin, nil); strings.Contains(string(got.Body), "Hostile") {
					t.Fatalf("a refused API was stored: %.300s", got.Body)
				}
			})
		}
	})
}

// BenchmarkParseSpecRefusesHostile measures how long each refusal takes.
func BenchmarkParseSpecRefusesHostile(b *testing.B) {
	for _, tt := range hostileSpecs() {
		spec := []byte(tt.spec)
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := catalog.ParseSpec(context.Background(), spec); err == nil {
					b.Fatal("accepted")
				}
			}
		})
	}
}
