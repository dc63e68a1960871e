package requestid

import "testing"

func TestNewIsUniqueAndValid(t *testing.T) {
	seen := map[string]bool{}
	g, other := NewGenerator(), NewGenerator()
	if g.New()[:16] == other.New()[:16] {
		t.Fatal("two generators share a prefix")
	}
	for i := 0; i < 10000; i++ {
		id := g.New()
		if len(id) != 32 || !Valid(id) || seen[id] {
			t.Fatalf("id %q (len %d, seen %v)", id, len(id), seen[id])
		}
		seen[id] = true
	}
}

func BenchmarkNew(b *testing.B) {
	g := NewGenerator()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		g.New()
	}
}
