package archtest

import (
	"bufio"
	"bytes"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// layers is DESIGN.md §2's import order: a package may import only packages of a
// lower layer (and its own sub-packages). Longest prefix wins.
var layers = map[string]int{
	"portico/internal/config":            1,
	"portico/internal/platform":          1,
	"portico/templates":                  1,
	"portico/static":                     1,
	"portico/migrations":                 1,
	"portico/internal/store":             2,
	"portico/internal/account":           3,
	"portico/internal/catalog":           4,
	"portico/internal/access":            5,
	"portico/internal/oauth":             6,
	"portico/internal/analytics":         6,
	"portico/internal/billing":           6,
	"portico/internal/gateway/snapshot":  7,
	"portico/internal/gateway/ratelimit": 7,
	"portico/internal/gateway/transform": 7,
	"portico/internal/gateway/mock":      7,
	"portico/internal/gateway":           8,
	"portico/internal/gateway/loader":    9,
	"portico/internal/publisher":         10,
	"portico/internal/portal":            10,
	"portico/internal/admin":             10,
	"portico/internal/heroku":            10,
	"portico/internal/app":               11,
	"portico/internal/archtest":          11,
	"portico/cmd":                        12,
	"portico/web":                        12,
}

// hotPath packages serve proxied calls: no database, ORM or web framework.
var hotPath = []string{"portico/internal/gateway"}

var hotPathForbidden = []string{"gorm.io/", "github.com/labstack/echo", "portico/internal/store", "database/sql",
	"portico/internal/account", "portico/internal/catalog", "portico/internal/access", "portico/internal/oauth",
	"portico/internal/analytics", "portico/internal/billing"}

func layerOf(pkg string) (string, int, bool) {
	best, layer := "", 0
	for prefix, l := range layers {
		if (pkg == prefix || strings.HasPrefix(pkg, prefix+"/")) && len(prefix) > len(best) {
			best, layer = prefix, l
		}
	}
	return best, layer, best != ""
}

func TestImportsFollowTheLayers(t *testing.T) {
	root, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	cmd := exec.Command("go", "list", "-test", "-f", `{{.ImportPath}}|{{join .Imports ","}}`, "./...")
	cmd.Dir = filepath.Dir(strings.TrimSpace(string(root)))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	checked := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		pkg, imports, _ := strings.Cut(sc.Text(), "|")
		// Test variants ("pkg [pkg.test]", "pkg_test", "pkg.test") may import upward:
		// apptest and storetest exist to be imported by tests.
		if strings.Contains(pkg, " [") || strings.HasSuffix(pkg, ".test") || strings.HasSuffix(pkg, "_test") {
			continue
		}
		fromPrefix, from, ok := layerOf(pkg)
		if !ok {
			if strings.HasPrefix(pkg, "portico/") {
				t.Errorf("%s has no layer: add it to archtest's table", pkg)
			}
			continue
		}
		checked++
		for _, imp := range strings.Split(imports, ",") {
			if imp == "" {
				continue
			}
			for _, hp := range hotPath {
				if (pkg == hp || strings.HasPrefix(pkg, hp+"/")) && !strings.HasPrefix(pkg, "portico/internal/gateway/loader") {
					for _, bad := range hotPathForbidden {
						if strings.HasPrefix(imp, bad) {
							t.Errorf("%s imports %s: the gateway's hot path must not reach the database or Echo", pkg, imp)
						}
					}
				}
			}
			if !strings.HasPrefix(imp, "portico/") {
				continue
			}
			toPrefix, to, ok := layerOf(imp)
			if !ok || toPrefix == fromPrefix {
				continue
			}
			if to >= from {
				t.Errorf("%s (layer %d) imports %s (layer %d): DESIGN.md §2 allows only lower layers", pkg, from, imp, to)
			}
		}
	}
	if checked < 10 {
		t.Fatalf("only %d packages checked; is go list output parsed right?\n%s", checked, out)
	}
}

// TestGatewayReachesNoDatabaseOrEcho follows every transitive import of the data
// plane (all gateway packages but the loader, which reads the modules).
func TestGatewayReachesNoDatabaseOrEcho(t *testing.T) {
	root, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(strings.TrimSpace(string(root)))
	list := exec.Command("go", "list", "./internal/gateway/...")
	list.Dir = dir
	out, err := list.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []string
	for _, p := range strings.Fields(string(out)) {
		if !strings.HasPrefix(p, "portico/internal/gateway/loader") {
			pkgs = append(pkgs, p)
		}
	}
	deps := exec.Command("go", append([]string{"list", "-deps"}, pkgs...)...)
	deps.Dir = dir
	out, err = deps.Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, d := range strings.Fields(string(out)) {
		for _, bad := range hotPathForbidden {
			if strings.HasPrefix(d, bad) {
				t.Errorf("the gateway depends on %s (through some import): the hot path must not reach it", d)
			}
		}
	}
}
