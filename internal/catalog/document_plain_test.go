package catalog

import "testing"

func TestPlainText(t *testing.T) {
	m := NewMarkdown()
	for in, want := range map[string]string{
		"Pets for sale. **Adopt** one today.":  "Pets for sale. Adopt one today.",
		"# Title\n\nSee [the docs](http://x).": "Title See the docs.",
		"Fish & <chips> `code`":                "Fish & code",
		"":                                     "",
	} {
		if got := m.PlainText(in); got != want {
			t.Errorf("PlainText(%q) = %q, want %q", in, got, want)
		}
	}
}
