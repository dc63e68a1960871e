package snapshot

import (
	"strings"
	"testing"
)

// FuzzRoute feeds arbitrary paths and methods to routing and operation
// matching: they must never panic, and what they return must be consistent.
func FuzzRoute(f *testing.F) {
	s, err := Build(Config{APIs: []API{
		{ID: "a", Context: "pets", Version: "v1", Default: true, State: StatePublished,
			Operations: []Operation{{Method: "GET", Path: "/pets/{id}"}, {Method: "GET", Path: "/pets/mine"}, {Method: "POST", Path: "/"}}},
		{ID: "b", Context: "pets", Version: "v2", State: StatePublished},
		{ID: "c", Context: "x", Version: "1.0", State: StatePublished, Operations: []Operation{{Method: "GET", Path: "/{a}/{b}/c"}}},
	}}, Options{})
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{"/pets/v1/pets/1", "/pets/pets/mine", "/pets/v2", "/pets", "/", "", "//", "/x/1.0/a/b/c", "/x/1.0//b/c", "/pets/v1/", "/pets/%2F/x", "/\x00/\xff"} {
		f.Add("GET", seed)
	}
	f.Fuzz(func(t *testing.T, method, path string) {
		r, rest, ok := s.Route(path)
		if !ok {
			return
		}
		if r == nil || !strings.HasPrefix(rest, "/") {
			t.Fatalf("route %q gave %v %q", path, r, rest)
		}
		if !strings.HasSuffix(path, rest) && rest != "/" {
			t.Fatalf("rest %q is not the end of %q", rest, path)
		}
		r.Match(method, rest)
	})
}
