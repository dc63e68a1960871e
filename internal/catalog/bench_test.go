package catalog

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// bigSpec generates an OpenAPI 3.0 YAML document with n paths of four
// operations each, shared schemas and examples: the shape of large real specs.
func bigSpec(n int) string {
	var b strings.Builder
	b.WriteString("openapi: 3.0.3\ninfo:\n  title: Big\n  version: v1\nservers:\n  - url: https://big.example.com\n")
	b.WriteString("components:\n  securitySchemes:\n    oauth:\n      type: oauth2\n      flows:\n        clientCredentials:\n          tokenUrl: https://big.example.com/token\n          scopes: {read: read, write: write}\n")
	b.WriteString("  schemas:\n")
	for i := 0; i < 50; i++ {
		fmt.Fprintf(&b, "    Thing%d:\n      type: object\n      required: [id]\n      properties:\n        id: {type: string, example: thing-%d}\n        name: {type: string, description: A readable name of the thing, maxLength: 200}\n        count: {type: integer, format: int32, minimum: 0}\n        tags: {type: array, items: {type: string}}\n", i, i)
	}
	b.WriteString("paths:\n")
	for i := 0; i < n; i++ {
		s := i % 50
		fmt.Fprintf(&b, "  /resources%d/{id}:\n    parameters:\n      - {name: id, in: path, required: true, schema: {type: string}}\n", i)
		for _, m := range []string{"get", "put", "delete", "patch"} {
			fmt.Fprintf(&b, "    %s:\n      operationId: %s%d\n      summary: %s resource %d with a description long enough to look real\n      security: [{oauth: [read, write]}]\n", m, m, i, m, i)
			if m == "put" || m == "patch" {
				fmt.Fprintf(&b, "      requestBody:\n        content:\n          application/json:\n            schema: {$ref: '#/components/schemas/Thing%d'}\n", s)
			}
			fmt.Fprintf(&b, "      responses:\n        '200':\n          description: The resource.\n          content:\n            application/json:\n              schema: {$ref: '#/components/schemas/Thing%d'}\n              example: {id: thing-%d, name: Example %d, count: 3, tags: [a, b]}\n        '404': {description: Not found.}\n", s, i, i)
		}
	}
	return b.String()
}

// BenchmarkImportParse parses, validates and extracts a multi-MB spec with
// thousands of operations (what POST /apis/import does before it stores).
func BenchmarkImportParse(b *testing.B) {
	spec := []byte(bigSpec(1500))
	b.SetBytes(int64(len(spec)))
	b.ReportAllocs()
	var ops int
	for b.Loop() {
		s, err := ParseSpec(context.Background(), spec)
		if err != nil {
			b.Fatal(err)
		}
		ops = len(s.Extract().Operations)
	}
	b.ReportMetric(float64(ops), "operations")
	b.ReportMetric(float64(len(spec))/(1<<20), "MiB")
}
