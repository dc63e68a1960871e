package catalog

import (
	"context"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"portico/internal/platform/apperr"
)

// FuzzParseSpec imports arbitrary documents the way POST /apis/import does:
// parse, validate, extract the operations, store the document and export it
// again. Every input must finish, and either be refused with a 400 on the spec
// field saying why, or give operations the catalogue can hold and a document
// that exports (a failure there would be a 500 later).
func FuzzParseSpec(f *testing.F) {
	for _, name := range []string{"petstore.yaml", "swagger2.json", "openapi31.yaml"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		"openapi: 3.0.3\ninfo: {title: x, version: '1'}\npaths: {}\n",
		`{"openapi":"3.1.0","info":{"title":"x","version":"1"},"paths":{"/a/{id}":{"get":{"parameters":[{"name":"id","in":"path","required":true,"schema":{"type":"string"}}],"responses":{"200":{"description":"ok"}}}}}}`,
		"swagger: '2.0'\ninfo: {title: x, version: '1'}\nhost: example.com\npaths:\n  /a: {get: {responses: {'200': {description: ok}}}}\n",
		"openapi: 3.0.3\ninfo: {title: x, version: '1'}\npaths: {}\ncomponents:\n  schemas:\n    A: {$ref: '#/components/schemas/B'}\n    B: {$ref: '#/components/schemas/A'}\n",
		"openapi: 3.0.3\ninfo: {title: x, version: '1'}\npaths: {}\nx-a: &a [1, 2]\nx-b: &b [*a, *a]\nx-c: [*b, *b, <<]\n",
		"openapi: 3.0.3\ninfo: {title: x, version: '1'}\npaths:\n  /a:\n    $ref: '#/paths/~1a'\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		type result struct {
			spec *Spec
			err  error
		}
		done := make(chan result, 1)
		go func() {
			s, err := ParseSpec(ctx, data)
			done <- result{s, err}
		}()
		var r result
		select {
		case r = <-done:
		case <-ctx.Done():
			t.Fatalf("ParseSpec of %d bytes did not finish in 20 s", len(data))
		}
		if r.err != nil {
			e, ok := apperr.As(r.err)
			if !ok || (e.Kind != apperr.KindInvalid && e.Kind != apperr.KindTooLarge) || e.Field != "spec" || e.Message == "" {
				t.Fatalf("refusal %#v is not a 400 on spec", r.err)
			}
			if e.Code == "unreadable_spec" {
				// Refused safely, but kin-openapi panicked: checkShape should
				// refuse this shape first, with its place.
				t.Fatalf("kin-openapi panicked: %s", e.Message)
			}
			return
		}
		im := r.spec.Extract()
		if len(im.Operations) > MaxSpecOperations {
			t.Fatalf("%d operations accepted", len(im.Operations))
		}
		ops := make([]Operation, 0, len(im.Operations))
		for _, op := range im.Operations {
			if !slices.Contains(Methods, op.Method) || !strings.HasPrefix(op.Path, "/") {
				t.Fatalf("operation %s %q", op.Method, op.Path)
			}
			ops = append(ops, Operation{Method: op.Method, Path: op.Path, Summary: op.Summary})
		}
		doc, err := json.Marshal(r.spec.Doc)
		if err != nil {
			t.Fatalf("an accepted spec cannot be stored: %v", err)
		}
		if _, err := Export(API{ID: "fuzz", Name: im.Name, Version: "v1", OpenAPI: string(doc)}, ops, "https://gw.example.com/fuzz/v1"); err != nil {
			t.Fatalf("an accepted spec cannot be exported: %v", err)
		}
	})
}
