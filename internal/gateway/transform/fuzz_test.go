package transform

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzRules parses arbitrary rule documents and, when they compile, applies
// them to a request and a response with an arbitrary body: no panic, and a
// rewritten body always has a matching Content-Length.
func FuzzRules(f *testing.F) {
	f.Add(`{"request":{"body":{"rename":{"a":"b.c"},"remove":["x"],"set":{"y.z":1}}}}`, `{"a":1,"x":2}`)
	f.Add(`{"backend":"xml"}`, `{"pet":{"name":"Rex"}}`)
	f.Add(`{"request":{"set_headers":{"X-A":"1"},"rename_query":{"q":"s"},"path_prefix":{"from":"/a","to":"/b"}}}`, `[]`)
	f.Add(`{"response":{"body":{"rename":{"a":"a.a"}}}}`, `{"a":{"a":1}}`)
	f.Add(`{}`, `not json`)
	f.Fuzz(func(t *testing.T, rules, body string) {
		c, err := Parse(rules)
		if err != nil || c == nil {
			return
		}
		req := httptest.NewRequest("POST", "/a/x?q=1", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if err := c.Request(req); err == nil && req.Body != nil {
			b, _ := io.ReadAll(req.Body)
			if req.ContentLength >= 0 && int64(len(b)) != req.ContentLength && req.Header.Get("Content-Length") != "" {
				t.Fatalf("request length %d for %d bytes", req.ContentLength, len(b))
			}
		}
		resp := &http.Response{Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(body))}
		_ = c.Response(resp)
	})
}
