package gateway

import (
	"encoding/json"
	"encoding/xml"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"portico/internal/gateway/snapshot"
)

func TestTransformsBothWays(t *testing.T) {
	var seen *http.Request
	var seenBody string
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r.Clone(r.Context())
		b, _ := io.ReadAll(r.Body)
		seenBody = string(b)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Internal", "secret-host-17")
		io.WriteString(w, `{"petName":"Rex","owner":{"id":7}}`)
	}))
	defer be.Close()
	rules := `{
	  "request": {"set_headers": {"X-Api-Version": "2"}, "remove_headers": ["X-Debug"], "rename_headers": {"X-Trace": "X-Trace-Id"},
	              "rename_query": {"q": "search"}, "set_query": {"source": "portico"}, "remove_query": ["debug"],
	              "path_prefix": {"from": "/pets", "to": "/animals"},
	              "body": {"rename": {"name": "petName"}, "remove": ["secret"], "set": {"meta.via": "portico"}}},
	  "response": {"set_headers": {"X-Served-By": "portico"}, "remove_headers": ["X-Internal"],
	               "body": {"rename": {"petName": "name", "owner.id": "owner_id"}}}
	}`
	g := New(Options{Log: slog.New(slog.DiscardHandler)})
	if err := g.Load(snapshot.Config{APIs: []snapshot.API{{ID: "t", OrgID: "o", Context: "zoo", Version: "v1", Default: true,
		State: snapshot.StatePublished, Backends: []string{be.URL + "/base"}, Transforms: rules}}}); err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("POST", "/zoo/v1/pets/3?q=cat&debug=1", strings.NewReader(`{"name":"Rex","secret":"x","age":3}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Debug", "1")
	req.Header.Set("X-Trace", "abc")
	rec := httptest.NewRecorder()
	g.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if seen.URL.Path != "/base/animals/3" {
		t.Errorf("backend path %q", seen.URL.Path)
	}
	if q := seen.URL.Query(); q.Get("search") != "cat" || q.Get("source") != "portico" || q.Has("q") || q.Has("debug") {
		t.Errorf("backend query %q", seen.URL.RawQuery)
	}
	if seen.Header.Get("X-Api-Version") != "2" || seen.Header.Get("X-Debug") != "" || seen.Header.Get("X-Trace-Id") != "abc" || seen.Header.Get("X-Trace") != "" {
		t.Errorf("backend headers %v", seen.Header)
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(seenBody), &body); err != nil {
		t.Fatal(err)
	}
	if body["petName"] != "Rex" || body["name"] != nil || body["secret"] != nil || body["age"] != float64(3) || body["meta"].(map[string]any)["via"] != "portico" {
		t.Errorf("backend body %s", seenBody)
	}
	if rec.Header().Get("X-Served-By") != "portico" || rec.Header().Get("X-Internal") != "" {
		t.Errorf("response headers %v", rec.Header())
	}
	var out map[string]any
	json.Unmarshal(rec.Body.Bytes(), &out)
	if out["name"] != "Rex" || out["owner_id"] != float64(7) || out["petName"] != nil {
		t.Errorf("response body %s", rec.Body)
	}
	if rec.Header().Get("Content-Length") != "" && rec.Header().Get("Content-Length") != itoa(rec.Body.Len()) {
		t.Errorf("content length %s for %d bytes", rec.Header().Get("Content-Length"), rec.Body.Len())
	}

	// A body the rules cannot read is refused, not forwarded half-rewritten.
	req = httptest.NewRequest("POST", "/zoo/v1/pets", strings.NewReader(`{"name":`))
	req.Header.Set("Content-Type", "application/json")
	rec = httptest.NewRecorder()
	g.ServeHTTP(rec, req)
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), "invalid_request") {
		t.Fatalf("broken JSON: %d %s", rec.Code, rec.Body)
	}
}

func TestJSONToXMLBackendRoundTrip(t *testing.T) {
	var got struct {
		XMLName xml.Name `xml:"pet"`
		Name    string   `xml:"name"`
		Age     int      `xml:"age"`
	}
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ct := r.Header.Get("Content-Type"); ct != "application/xml" {
			http.Error(w, "want XML, got "+ct, http.StatusUnsupportedMediaType)
			return
		}
		if err := xml.NewDecoder(r.Body).Decode(&got); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		w.Header().Set("Content-Type", "application/xml; charset=utf-8")
		io.WriteString(w, `<pet><id>42</id><name>`+got.Name+`</name><tags><tag>good</tag><tag>dog</tag></tags></pet>`)
	}))
	defer be.Close()
	g := New(Options{Log: slog.New(slog.DiscardHandler)})
	if err := g.Load(snapshot.Config{APIs: []snapshot.API{{ID: "x", OrgID: "o", Context: "soap", Version: "v1", Default: true,
		State: snapshot.StatePublished, Backends: []string{be.URL}, Transforms: `{"backend":"xml"}`}}}); err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("POST", "/soap/pets", strings.NewReader(`{"pet":{"name":"Rex","age":3}}`))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	g.ServeHTTP(rec, req)
	if rec.Code != 200 || got.Name != "Rex" || got.Age != 3 {
		t.Fatalf("backend got %+v; answer %d %s", got, rec.Code, rec.Body)
	}
	if !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		t.Fatalf("answer type %q", rec.Header().Get("Content-Type"))
	}
	var out struct {
		Pet struct {
			ID   string `json:"id"`
			Name string `json:"name"`
			Tags struct {
				Tag []string `json:"tag"`
			} `json:"tags"`
		} `json:"pet"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.Pet.Name != "Rex" || out.Pet.ID != "42" || len(out.Pet.Tags.Tag) != 2 {
		t.Fatalf("answer %s (%v)", rec.Body, err)
	}
}

func TestBadTransformRulesKeepTheOldSnapshot(t *testing.T) {
	g := New(Options{Log: slog.New(slog.DiscardHandler)})
	for _, rules := range []string{`{"request":{"set_headers":{"X-Portico-Application":"me"}}}`, `{"backend":"yaml"}`, `{"response":{"set_query":{"a":"b"}}}`, `{"nope":1}`, `{"request":{"body":{"remove":[".x"]}}}`} {
		err := g.Load(snapshot.Config{APIs: []snapshot.API{{ID: "x", OrgID: "o", Context: "c", Version: "v1", State: snapshot.StatePublished,
			Backends: []string{"http://127.0.0.1:1"}, Transforms: rules}}})
		if err == nil {
			t.Fatalf("rules %s accepted", rules)
		}
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }
