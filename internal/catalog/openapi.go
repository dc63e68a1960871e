package catalog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3"
	"gopkg.in/yaml.v3"

	"portico/internal/platform/apperr"
)

// MaxSpecBytes bounds an imported document. Large real specs (thousands of
// operations) are a few MB.
const MaxSpecBytes = 10 << 20

// Limits on what one document may ask of the importer beyond its size. Each
// guards a cost that grows faster than the document: YAML aliases expand
// exponentially ("billion laughs"), and kin-openapi validates every component
// schema together with everything it references, so a chain of definitions each
// referring to the next costs the square of its length (2,000 links: ~3 s).
const (
	// MaxSpecPaths and MaxSpecOperations bound one API's paths and operations;
	// the largest public specs have a few thousand.
	MaxSpecPaths      = 5_000
	MaxSpecOperations = 10_000
	// MaxSpecRefs bounds the $refs in one document, counted in its text
	// before it is parsed (a mention in a description counts too).
	MaxSpecRefs = 100_000
	// MaxRefDepth bounds how many definitions deep a chain of $refs goes
	// before it comes back on itself (recursive schemas count once).
	MaxRefDepth = 64
	// MaxSpecDepth bounds the nesting of objects and lists.
	MaxSpecDepth = 200
	// maxYAMLAliasValues bounds the values YAML aliases may expand to, and
	// maxYAMLNodes the values of the whole document.
	maxYAMLAliasValues = 1_000_000
	maxYAMLNodes       = 5_000_000
)

// Spec is a parsed, validated OpenAPI 3 document and what import learned from it.
type Spec struct {
	Doc *openapi3.T
	// Source is the version the document was written in: "2.0", "3.0", "3.1" or "3.2".
	Source string
	// Notes say honestly what was converted, skipped or is not enforced.
	Notes []string
}

// specError is the 400 every broken document gets; the message says what and where.
func specError(code, format string, args ...any) *apperr.Error {
	return apperr.Invalid("spec", code, fmt.Sprintf(format, args...))
}

// ParseSpec reads an OpenAPI 3.0/3.1 or Swagger 2.0 document in YAML or JSON,
// resolves its internal references (external ones are refused: they would let a
// document make Portico read files or URLs), converts Swagger 2.0 to OpenAPI 3 and
// validates it. Errors are *apperr.Error values naming the problem and, where it
// can be found, its path in the document and line.
func ParseSpec(ctx context.Context, data []byte) (*Spec, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, specError("empty_spec", "The spec is empty: paste or upload an OpenAPI 3 or Swagger 2.0 document in YAML or JSON.")
	}
	if len(data) > MaxSpecBytes {
		return nil, apperr.Newf(apperr.KindTooLarge, "spec_too_large", "The spec is %d bytes; Portico imports documents of up to %d MiB.", len(data), MaxSpecBytes>>20).WithField("spec")
	}
	if i := bytes.IndexByte(data, 0); i >= 0 || !utf8.Valid(data) {
		if i < 0 {
			i = invalidUTF8At(data)
		}
		return nil, specError("binary_spec", "The spec is not text: byte %d is not UTF-8 (an archive, image or other binary file?). Upload the .yaml or .json document itself.", i)
	}

	if off := nthIndex(data, []byte("$ref"), MaxSpecRefs+1); off >= 0 {
		line, _ := lineCol(data, off)
		return nil, specError("too_many_refs", "The spec has more than %d $refs; Portico refuses it ($ref number %d is on line %d).", MaxSpecRefs, MaxSpecRefs+1, line)
	}
	p := &parsed{raw: data}
	jsonDoc, tree, err := p.toJSON()
	if err != nil {
		return nil, err
	}
	top, ok := tree.(map[string]any)
	if !ok {
		return nil, specError("invalid_spec", "The spec must be an object with an openapi (or swagger) field at the top, not a list or a single value.")
	}
	head := struct{ OpenAPI, Swagger any }{top["openapi"], top["swagger"]}
	// Before kin-openapi sees it: its cost grows faster than the document.
	if err := p.checkShape(top); err != nil {
		return nil, err
	}
	spec := &Spec{}
	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = false
	loader.Context = ctx
	var doc *openapi3.T
	switch {
	case head.OpenAPI != nil:
		v, ok := head.OpenAPI.(string)
		if !ok {
			return nil, p.locate(specError("invalid_version_field", "openapi must be a string such as \"3.0.3\" (quote it in YAML)"), "openapi")
		}
		switch {
		case strings.HasPrefix(v, "3.0"):
			spec.Source = "3.0"
		case strings.HasPrefix(v, "3.1"):
			spec.Source = "3.1"
		case strings.HasPrefix(v, "3.2"):
			spec.Source = "3.2"
			spec.Notes = append(spec.Notes, "OpenAPI 3.2 is supported only in part: the QUERY method and additionalOperations are imported, other 3.2 additions are kept in the document but not used.")
		default:
			return nil, p.locate(specError("unsupported_version", "openapi %q is not a version Portico imports: use 3.0.x or 3.1.x (or Swagger 2.0)", v), "openapi")
		}
		if err := guard("reading", func() (err error) { doc, err = loader.LoadFromData(jsonDoc); return err }); err != nil {
			return nil, p.explain(err)
		}
	case head.Swagger != nil:
		if v, _ := head.Swagger.(string); v != "2.0" {
			return nil, p.locate(specError("unsupported_version", "swagger must be \"2.0\"; for OpenAPI 3 use the openapi field"), "swagger")
		}
		spec.Source = "2.0"
		var d2 openapi2.T
		if err := json.Unmarshal(jsonDoc, &d2); err != nil {
			return nil, p.explain(err)
		}
		if err := guard("converting", func() (err error) { doc, err = openapi2conv.ToV3WithLoader(&d2, loader, nil); return err }); err != nil {
			return nil, p.explain(err)
		}
		spec.Notes = append(spec.Notes, "Converted from Swagger 2.0 to OpenAPI 3.0.")
	default:
		return nil, specError("not_openapi", "The document has no openapi or swagger field at the top, so it is not an OpenAPI document. Add openapi: \"3.0.3\" (or swagger: \"2.0\").")
	}
	if err := guard("validating", func() error { return doc.Validate(ctx, openapi3.DisableExamplesValidation()) }); err != nil {
		return nil, p.explain(err)
	}
	if doc.Paths == nil {
		doc.Paths = openapi3.NewPaths()
	}
	if spec.Source == "3.1" || spec.Source == "3.2" {
		spec.Notes = append(spec.Notes, notes31(doc)...)
	}
	spec.Doc = doc
	return spec, nil
}

// guard runs a kin-openapi step. The library panics on some malformed
// documents (FuzzParseSpec found a null path item in Swagger 2.0), and a
// document must never crash its request: the panic becomes a 400. Shapes known
// to panic are refused earlier, with their place, by checkShape.
func guard(step string, fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = specError("unreadable_spec", "The spec could not be read: %s it failed on a part of unexpected shape. Check it with an OpenAPI validator.", step)
		}
	}()
	return fn()
}

// nthIndex is the offset of the nth occurrence of sep in b, or -1.
func nthIndex(b, sep []byte, n int) int {
	off := 0
	for ; n > 0; n-- {
		i := bytes.Index(b[off:], sep)
		if i < 0 {
			return -1
		}
		off += i + len(sep)
	}
	return off - len(sep)
}

// notes31 reports the OpenAPI 3.1 features Portico keeps but does not act on.
func notes31(doc *openapi3.T) []string {
	var out []string
	if n := len(doc.Webhooks); n > 0 {
		out = append(out, fmt.Sprintf("OpenAPI 3.1 webhooks (%d) describe calls the API makes, not calls it receives: they are kept in the document but are not gateway operations.", n))
	}
	if d := doc.JSONSchemaDialect; d != "" && d != "https://spec.openapis.org/oas/3.1/dialect/base" {
		out = append(out, fmt.Sprintf("jsonSchemaDialect %q is ignored: schemas are read as OpenAPI 3.1's JSON Schema 2020-12 dialect.", d))
	}
	if doc.Info != nil && doc.Info.License != nil && doc.Info.License.Identifier != "" {
		out = append(out, "info.license.identifier (SPDX) is kept but not shown on the portal.")
	}
	return out
}

func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// parsed keeps the raw document and, once an error needs locating, its YAML node
// tree (JSON is YAML, so one tree serves both) for paths and line numbers.
type parsed struct {
	raw  []byte
	tree *yaml.Node
	done bool
}

// toJSON returns the document as JSON for kin-openapi, whose JSON path is much
// faster than its YAML one, and as plain values for the shape checks. JSON input
// passes through untouched.
func (p *parsed) toJSON() ([]byte, any, error) {
	trimmed := bytes.TrimSpace(p.raw)
	if trimmed[0] == '{' || trimmed[0] == '[' {
		var v any
		err := json.Unmarshal(trimmed, &v)
		if err == nil {
			return trimmed, v, nil
		}
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			line, col := lineCol(p.raw, int(syn.Offset)+len(p.raw)-len(bytes.TrimLeft(p.raw, " \t\r\n")))
			return nil, nil, specError("invalid_json", "The spec is not valid JSON: line %d, column %d: %s.", line, col, syn.Error())
		}
		// Not JSON after all (a YAML flow mapping?): read it as YAML.
	}
	var root yaml.Node
	if err := yaml.Unmarshal(p.raw, &root); err != nil {
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		return nil, nil, specError("invalid_yaml", "The spec is not valid YAML or JSON: %s.", msg)
	}
	p.tree, p.done = &root, true
	c := converter{}
	v, err := c.value(&root, 0)
	if err != nil {
		return nil, nil, err
	}
	out, err := json.Marshal(v)
	if err != nil {
		return nil, nil, specError("invalid_yaml", "The spec holds a value JSON cannot represent: %v.", err)
	}
	return out, v, nil
}

func lineCol(b []byte, off int) (int, int) {
	if off > len(b) {
		off = len(b)
	}
	line := 1 + bytes.Count(b[:off], []byte("\n"))
	col := off - bytes.LastIndexByte(b[:off], '\n')
	return line, col
}

// converter turns a YAML node tree into plain JSON-able values: string keys
// always (YAML's 200: is a number key), scalars typed by their resolved tag.
// yaml.v3 keeps aliases as nodes in the tree; expanding them here is where a
// "billion laughs" document would explode, so expansion is counted.
type converter struct {
	n       int
	aliased int        // values produced by expanding aliases
	alias   *yaml.Node // the outermost alias being expanded, named in the refusal
}

func (c *converter) value(n *yaml.Node, depth int) (any, error) {
	c.n++
	if c.alias != nil {
		c.aliased++
		if c.aliased > maxYAMLAliasValues {
			return nil, specError("yaml_alias_expansion", "The spec's YAML aliases expand to more than %d values (a \"billion laughs\" document?) at line %d (alias *%s); Portico refuses it.", maxYAMLAliasValues, c.alias.Line, c.alias.Value)
		}
	}
	// Deep nesting gets its own message, with the path, from checkShape; this
	// bound only keeps the recursion finite.
	if c.n > maxYAMLNodes || depth > 5*MaxSpecDepth {
		return nil, specError("invalid_yaml", "The spec expands to more than %d values or nests too deep; Portico refuses it.", maxYAMLNodes)
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return c.value(n.Content[0], depth+1)
	case yaml.AliasNode:
		if c.alias == nil {
			c.alias = n
			defer func() { c.alias = nil }()
		}
		return c.value(n.Alias, depth+1)
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, e := range n.Content {
			v, err := c.value(e, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		out := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, vn := n.Content[i], n.Content[i+1]
			if k.Tag == "!!merge" {
				merged, err := c.value(vn, depth+1)
				if err != nil {
					return nil, err
				}
				if m, ok := merged.(map[string]any); ok {
					for mk, mv := range m {
						if _, set := out[mk]; !set {
							out[mk] = mv
						}
					}
				}
				continue
			}
			v, err := c.value(vn, depth+1)
			if err != nil {
				return nil, err
			}
			out[k.Value] = v
		}
		return out, nil
	case yaml.ScalarNode:
		return scalar(n), nil
	}
	return nil, nil
}

func scalar(n *yaml.Node) any {
	switch n.ShortTag() {
	case "!!null":
		return nil
	case "!!bool":
		b, err := strconv.ParseBool(strings.ToLower(n.Value))
		if err != nil {
			return n.Value
		}
		return b
	case "!!int":
		s := strings.ReplaceAll(n.Value, "_", "")
		if i, err := strconv.ParseInt(s, 0, 64); err == nil {
			return i
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return f
		}
		return n.Value
	case "!!float":
		f, err := strconv.ParseFloat(n.Value, 64)
		if err != nil {
			return n.Value // .inf, .nan: JSON has no such number
		}
		return f
	}
	return n.Value
}

// ensureTree parses the YAML tree once, when an error needs locating.
func (p *parsed) ensureTree() *yaml.Node {
	if !p.done {
		p.done = true
		var root yaml.Node
		if err := yaml.Unmarshal(p.raw, &root); err == nil {
			p.tree = &root
		}
	}
	if p.tree == nil || len(p.tree.Content) == 0 {
		return nil
	}
	return p.tree.Content[0]
}

// where describes a location: "at paths./pets.get (line 12)".
func where(path []string, line int) string {
	s := " at " + strings.Join(path, ".")
	if line > 0 {
		s += fmt.Sprintf(" (line %d)", line)
	}
	return s
}

// locate appends the location of the node at the given key path to e's message.
func (p *parsed) locate(e *apperr.Error, path ...string) *apperr.Error {
	root := p.ensureTree()
	line := 0
	if n := lookup(root, path); n != nil {
		line = n.Line
	}
	e.Message += where(path, line) + "."
	return e
}

// lookup follows keys through mappings; the key node is returned for its line.
func lookup(n *yaml.Node, path []string) *yaml.Node {
	var found *yaml.Node
	for _, k := range path {
		if n == nil || n.Kind != yaml.MappingNode {
			return found
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				found, next = n.Content[i], n.Content[i+1]
				break
			}
		}
		if next == nil {
			return found
		}
		n = next
	}
	return found
}

// find walks the tree depth first and returns the path and line of the first
// mapping entry for which match(key, value) holds.
func find(n *yaml.Node, match func(k, v *yaml.Node) bool) ([]string, int, bool) {
	var path []string
	var walk func(n *yaml.Node, depth int) (int, bool)
	walk = func(n *yaml.Node, depth int) (int, bool) {
		if n == nil || depth > 200 {
			return 0, false
		}
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				path = append(path, k.Value)
				if match(k, v) {
					return k.Line, true
				}
				if line, ok := walk(v, depth+1); ok {
					return line, true
				}
				path = path[:len(path)-1]
			}
		case yaml.SequenceNode:
			for i, e := range n.Content {
				path = append(path, strconv.Itoa(i))
				if line, ok := walk(e, depth+1); ok {
					return line, true
				}
				path = path[:len(path)-1]
			}
		}
		return 0, false
	}
	line, ok := walk(n, 0)
	return path, line, ok
}

var (
	refInErrRE       = regexp.MustCompile(`"([^"]*#[^"]*|[^"]*\.(?:ya?ml|json)[^"]*|https?://[^"]*)"`)
	quotedRE         = regexp.MustCompile(`"([^"]+)"`)
	unmarshalRE      = regexp.MustCompile(`cannot unmarshal (\w+) into (?:Go struct )?field (?:(\w+)\.)?([\w.]+) of type ([\w.\[\]*]+)`)
	unmarshalValueRE = regexp.MustCompile(`cannot unmarshal (\w+) into Go value of type ([\w.\[\]*]+)`)
	operationRE      = regexp.MustCompile(`operation (GET|PUT|POST|DELETE|OPTIONS|HEAD|PATCH|TRACE|QUERY) (/\S*)`)
	pathRE           = regexp.MustCompile(`path "?(/[^"\s:]*)"?`)
	componentRE      = regexp.MustCompile(`^invalid components: (\w+) "?([^":\s]+)"?`)
	sectionRE        = regexp.MustCompile(`^invalid (\w+):`)
)

// explain turns a kin-openapi error into a message that says what is wrong and
// where. The library's errors are plain text, so the location is recovered by
// finding the offending piece in the document's node tree.
func (p *parsed) explain(err error) error {
	if e, ok := apperr.As(err); ok {
		return e
	}
	msg := strings.TrimSpace(err.Error())
	msg = strings.TrimPrefix(msg, "failed to unmarshal data: ")
	if i := strings.Index(msg, "yaml error: "); i >= 0 && strings.HasPrefix(msg, "json error:") {
		msg = msg[i+len("yaml error: "):]
	}
	msg = strings.TrimPrefix(msg, "error unmarshaling JSON: ")
	msg = strings.TrimPrefix(msg, "while decoding JSON: ")
	msg = strings.TrimPrefix(msg, "json: ")
	root := p.ensureTree()

	switch {
	case strings.Contains(msg, "disallowed external reference"):
		e := specError("external_ref", "The spec refers to another file or URL, which Portico does not follow: put every definition in the one document")
		m := refInErrRE.FindStringSubmatch(msg)
		if m == nil {
			m = quotedRE.FindStringSubmatch(msg)
		}
		if m != nil {
			if path, line, ok := findRef(root, m[1]); ok {
				e.Message += fmt.Sprintf(" ($ref %q%s).", m[1], where(path, line))
				return e
			}
		}
		e.Message += "."
		return e
	case strings.Contains(msg, "resolve") && strings.Contains(msg, "ref") || strings.Contains(msg, "in fragment in URI"):
		e := specError("unresolved_ref", "A $ref points to nothing in the document")
		if m := refInErrRE.FindStringSubmatch(msg); m != nil {
			e.Message = fmt.Sprintf("The $ref %q points to nothing in the document", m[1])
			if path, line, ok := findRef(root, m[1]); ok {
				e.Message += where(path, line)
			}
		}
		e.Message += ": define it, or fix the reference."
		return e
	}
	if m := unmarshalRE.FindStringSubmatch(msg); m != nil {
		got, field, typ := m[1], lastPart(m[3]), m[4]
		want := goTypeName(typ)
		e := specError("invalid_spec_type", "%s must be %s, not %s", field, want, article(got))
		if path, line, ok := find(root, func(k, v *yaml.Node) bool { return k.Value == field && !kindMatches(v, want) }); ok {
			e.Message += where(path, line)
		}
		e.Message += "."
		return e
	}
	if m := unmarshalValueRE.FindStringSubmatch(msg); m != nil {
		return specError("invalid_spec_type", "The spec must be an object with an openapi field at the top, not %s.", article(m[1]))
	}

	// Validation errors: kin-openapi names the section and often the operation.
	e := specError("invalid_spec", "The spec is not valid OpenAPI: %s", msg)
	if m := operationRE.FindStringSubmatch(msg); m != nil {
		e.Message += where([]string{"paths", m[2], strings.ToLower(m[1])}, lineOf(root, "paths", m[2], strings.ToLower(m[1])))
	} else if m := componentRE.FindStringSubmatch(msg); m != nil {
		section := m[1]
		if section == "schema" {
			section = "schemas"
		}
		e.Message += where([]string{"components", section, m[2]}, lineOf(root, "components", section, m[2]))
	} else if m := pathRE.FindStringSubmatch(msg); m != nil && strings.HasPrefix(msg, "invalid paths") {
		e.Message += where([]string{"paths", m[1]}, lineOf(root, "paths", m[1]))
	} else if m := sectionRE.FindStringSubmatch(msg); m != nil {
		e.Message += where([]string{m[1]}, lineOf(root, m[1]))
	}
	e.Message += "."
	return e
}

func lineOf(root *yaml.Node, path ...string) int {
	if n := lookup(root, path); n != nil {
		return n.Line
	}
	return 0
}

func findRef(root *yaml.Node, ref string) ([]string, int, bool) {
	return find(root, func(k, v *yaml.Node) bool {
		return k.Value == "$ref" && v.Kind == yaml.ScalarNode && (v.Value == ref || strings.HasSuffix(ref, v.Value) || strings.HasSuffix(v.Value, ref))
	})
}

func lastPart(s string) string {
	if i := strings.LastIndexByte(s, '.'); i >= 0 {
		return s[i+1:]
	}
	return s
}

func goTypeName(t string) string {
	t = strings.TrimLeft(t, "*")
	switch {
	case strings.HasPrefix(t, "[]"), strings.HasSuffix(t, "Parameters"), strings.HasSuffix(t, "SecurityRequirements"),
		strings.HasSuffix(t, "Servers"), strings.HasSuffix(t, "Tags"), strings.HasSuffix(t, "Types"):
		return "a list"
	case t == "string":
		return "a string"
	case t == "bool":
		return "true or false"
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"), strings.HasPrefix(t, "float"):
		return "a number"
	}
	return "an object"
}

func article(jsonKind string) string {
	switch jsonKind {
	case "array":
		return "a list"
	case "object":
		return "an object"
	case "string":
		return "a string"
	case "number":
		return "a number"
	case "bool":
		return "true or false"
	}
	return jsonKind
}

func kindMatches(v *yaml.Node, want string) bool {
	switch want {
	case "a list":
		return v.Kind == yaml.SequenceNode
	case "an object":
		return v.Kind == yaml.MappingNode
	case "a string":
		return v.Kind == yaml.ScalarNode && v.ShortTag() == "!!str"
	case "a number":
		return v.Kind == yaml.ScalarNode && (v.ShortTag() == "!!int" || v.ShortTag() == "!!float")
	case "true or false":
		return v.Kind == yaml.ScalarNode && v.ShortTag() == "!!bool"
	}
	return true
}

// specMethods are the keys of a path item that are operations.
var specMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace", "query"}

// checkShape refuses documents whose shape would make validation slow or deep
// before kin-openapi sees them: nesting, the number of paths, operations and
// $refs, chains of $refs that never end in a definition, and chains that go too
// many definitions deep. Each refusal says what and where.
func (p *parsed) checkShape(top map[string]any) error {
	w := shapeWalker{refs: map[string]bool{}}
	if err := w.walk(top, 0); err != nil {
		return p.locateShape(err)
	}
	if paths, ok := top["paths"].(map[string]any); ok {
		if len(paths) > MaxSpecPaths {
			return p.locate(specError("too_many_paths", "The spec has %d paths; Portico imports up to %d per API: split it into several APIs", len(paths), MaxSpecPaths), "paths")
		}
		ops := 0
		keys := slices.Sorted(maps.Keys(paths))
		for _, k := range keys {
			if strings.HasPrefix(k, "x-") {
				continue // an extension, not a path
			}
			m, ok := paths[k].(map[string]any)
			if !ok {
				return p.locate(specError("invalid_spec_type", "A path item must be an object, not %s", jsonKind(paths[k])), "paths", k)
			}
			for _, method := range specMethods {
				if v, ok := m[method]; ok {
					if _, isObj := v.(map[string]any); !isObj {
						return p.locate(specError("invalid_spec_type", "An operation must be an object, not %s", jsonKind(v)), "paths", k, method)
					}
					ops++
				}
			}
		}
		if ops > MaxSpecOperations {
			return p.locate(specError("too_many_operations", "The spec has %d operations; Portico imports up to %d per API: split it into several APIs", ops, MaxSpecOperations), "paths")
		}
	}
	g := refGraph{root: top, nodes: map[string]*refNode{}, budget: 4*w.values + 100_000}
	refs := make([]string, 0, len(w.refs))
	for r := range w.refs {
		refs = append(refs, r)
	}
	sort.Strings(refs) // the same document gets the same message
	for _, r := range refs {
		if err := g.visit(r); err != nil {
			return p.refError(err)
		}
	}
	return nil
}

// jsonKind names the kind of a plain value for messages.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null (nothing)"
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case string:
		return "a string"
	case bool:
		return "true or false"
	}
	return "a number"
}

// shapeError is a refusal found by walking the plain values; its location is
// added from the YAML tree.
type shapeError struct {
	err  *apperr.Error
	path []string
}

func (e *shapeError) Error() string { return e.err.Message }

// locateShape turns a shapeError into the 400 with its path and line; long
// paths are shortened in the middle.
func (p *parsed) locateShape(err error) error {
	var se *shapeError
	if !errors.As(err, &se) {
		return err
	}
	line := lineOf(p.ensureTree(), se.path...)
	shown := se.path
	if len(shown) > 8 {
		shown = append(append(slices.Clone(shown[:5]), "…"), shown[len(shown)-2:]...)
	}
	se.err.Message += where(shown, line) + "."
	return se.err
}

// shapeWalker counts values and collects the document's local $refs.
type shapeWalker struct {
	path   []string
	values int
	nrefs  int
	refs   map[string]bool
}

func (w *shapeWalker) walk(v any, depth int) error {
	w.values++
	if depth > MaxSpecDepth {
		return &shapeError{err: specError("spec_too_deep", "The spec nests objects and lists more than %d levels deep", MaxSpecDepth), path: slices.Clone(w.path)}
	}
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			w.path = append(w.path, k)
			if ref, ok := e.(string); ok && k == "$ref" {
				// Counted again here: JSON may spell the key \u0024ref.
				if w.nrefs++; w.nrefs > MaxSpecRefs {
					return &shapeError{err: specError("too_many_refs", "The spec has more than %d $refs", MaxSpecRefs), path: slices.Clone(w.path)}
				}
				if strings.HasPrefix(ref, "#") {
					w.refs[ref] = true
				}
			}
			if err := w.walk(e, depth+1); err != nil {
				return err
			}
			w.path = w.path[:len(w.path)-1]
		}
	case []any:
		for i, e := range v {
			w.path = append(w.path, strconv.Itoa(i))
			if err := w.walk(e, depth+1); err != nil {
				return err
			}
			w.path = w.path[:len(w.path)-1]
		}
	}
	return nil
}

// refGraph is the graph of the document's local $refs: an edge from a ref to
// each ref inside what it points at. Its strongly connected components are the
// recursive definitions (a tree node whose children are tree nodes), which are
// fine; their number along the longest path is how deep the $refs go.
type refGraph struct {
	root   any
	nodes  map[string]*refNode
	budget int // values left to walk inside targets: nested targets are walked again
	index  int
	stack  []*refNode
}

type refNode struct {
	ref     string
	out     []string
	alias   bool // the target is itself only a $ref
	index   int  // Tarjan's order, 0 = not visited yet
	low     int
	onStack bool
	depth   int      // definitions along the deepest chain from here, once its component is done
	next    *refNode // the next link of that chain
}

// refChainError reports a chain of $refs that ends nowhere or goes too deep.
type refChainError struct {
	code  string
	chain []string
	depth int
}

func (e *refChainError) Error() string { return e.code }

func (g *refGraph) node(ref string) (*refNode, error) {
	if n, ok := g.nodes[ref]; ok {
		return n, nil
	}
	n := &refNode{ref: ref}
	g.nodes[ref] = n
	target, ok := pointer(g.root, ref)
	if !ok {
		return n, nil // kin-openapi reports the unresolved $ref with its place
	}
	if m, ok := target.(map[string]any); ok {
		if r, ok := m["$ref"].(string); ok {
			n.alias = true
			if strings.HasPrefix(r, "#") {
				n.out = append(n.out, r)
			}
		}
	}
	if !n.alias {
		var collect func(v any) bool
		collect = func(v any) bool {
			if g.budget--; g.budget < 0 {
				return false
			}
			switch v := v.(type) {
			case map[string]any:
				for k, e := range v {
					if r, ok := e.(string); ok && k == "$ref" && strings.HasPrefix(r, "#") {
						n.out = append(n.out, r)
					} else if !collect(e) {
						return false
					}
				}
			case []any:
				for _, e := range v {
					if !collect(e) {
						return false
					}
				}
			}
			return true
		}
		if !collect(target) {
			return nil, &refChainError{code: "too_many_refs", chain: []string{ref}}
		}
	}
	return n, nil
}

// visit runs Tarjan's algorithm from ref. Components are completed in reverse
// topological order, so each one's depth is known from those it reaches.
func (g *refGraph) visit(ref string) error {
	n, err := g.node(ref)
	if err != nil || n.index != 0 {
		return err
	}
	g.index++
	n.index, n.low = g.index, g.index
	g.stack = append(g.stack, n)
	n.onStack = true
	for _, r := range n.out {
		m, err := g.node(r)
		if err != nil {
			return err
		}
		if m.index == 0 {
			if err := g.visit(r); err != nil {
				return err
			}
			n.low = min(n.low, m.low)
		} else if m.onStack {
			n.low = min(n.low, m.index)
		}
	}
	if n.low != n.index {
		return nil
	}
	var comp []*refNode
	for {
		m := g.stack[len(g.stack)-1]
		g.stack = g.stack[:len(g.stack)-1]
		m.onStack = false
		comp = append(comp, m)
		if m == n {
			break
		}
	}
	inComp := func(r string) bool { return slices.ContainsFunc(comp, func(m *refNode) bool { return m.ref == r }) }
	allAlias, cyclic := true, len(comp) > 1
	depth, next := 0, (*refNode)(nil)
	for _, m := range comp {
		allAlias = allAlias && m.alias
		for _, r := range m.out {
			if inComp(r) {
				cyclic = true
				continue
			}
			if o := g.nodes[r]; o.depth > depth {
				depth, next = o.depth, o
			}
		}
	}
	if cyclic && allAlias {
		chain := []string{}
		for m := n; len(chain) <= len(comp); m = g.nodes[m.out[0]] {
			chain = append(chain, m.ref)
		}
		return &refChainError{code: "ref_cycle", chain: chain}
	}
	for _, m := range comp {
		m.depth, m.next = depth+1, next
	}
	if depth+1 > MaxRefDepth {
		var chain []string
		for m := n; m != nil; m = m.next {
			chain = append(chain, m.ref)
		}
		return &refChainError{code: "ref_too_deep", chain: chain, depth: depth + 1}
	}
	return nil
}

// refError words a refChainError, located at the first $ref of its chain.
func (p *parsed) refError(err error) error {
	var ce *refChainError
	if !errors.As(err, &ce) {
		return err
	}
	var e *apperr.Error
	switch ce.code {
	case "ref_cycle":
		e = specError("ref_cycle", "The $ref chain %s goes round in a circle without reaching a definition", strings.Join(ce.chain, " → "))
	case "ref_too_deep":
		shown := ce.chain
		if len(shown) > 6 {
			shown = append(append(slices.Clone(shown[:3]), "…"), shown[len(shown)-2:]...)
		}
		e = specError("ref_too_deep", "The spec's $refs go %d definitions deep (%s); Portico follows up to %d", ce.depth, strings.Join(shown, " → "), MaxRefDepth)
	default:
		e = specError("too_many_refs", "The spec's $refs point into each other's definitions too often (at %s)", ce.chain[0])
		if path, line, ok := findRef(p.ensureTree(), ce.chain[0]); ok {
			e.Message += where(path, line)
		}
		e.Message += "."
		return e
	}
	// The chain's first definition, where the user has to look.
	path := pointerPath(ce.chain[0])
	e.Message += where(path, lineOf(p.ensureTree(), path...)) + "."
	return e
}

// pointerPath is the keys of a local $ref: "#/components/schemas/a~1b" is
// components, schemas, a/b.
func pointerPath(ref string) []string {
	frag := strings.TrimPrefix(ref, "#")
	if u, err := url.PathUnescape(frag); err == nil {
		frag = u
	}
	if !strings.HasPrefix(frag, "/") || frag == "/" {
		return nil
	}
	toks := strings.Split(frag[1:], "/")
	for i, t := range toks {
		toks[i] = strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
	}
	return toks
}

// pointer resolves a local $ref ("#/components/schemas/Pet") in plain values.
func pointer(root any, ref string) (any, bool) {
	frag := strings.TrimPrefix(ref, "#")
	if frag == "" || frag == "/" {
		return root, true
	}
	if !strings.HasPrefix(frag, "/") && !strings.HasPrefix(frag, "%2F") && !strings.HasPrefix(frag, "%2f") {
		return nil, false
	}
	cur := root
	for _, tok := range pointerPath(ref) {
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[tok]
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			cur = c[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// Imported is what an API takes from a spec.
type Imported struct {
	Name        string
	Version     string
	Description string
	Tags        []string
	Backend     string
	AuthTypes   []string
	Operations  []OperationInput
}

// Extract reads the API's name, version, backend, auth types and operations
// (with scopes from the security requirements) from a parsed spec.
func (s *Spec) Extract() Imported {
	doc := s.Doc
	var im Imported
	if doc.Info != nil {
		im.Name, im.Version, im.Description = doc.Info.Title, doc.Info.Version, doc.Info.Description
	}
	for _, t := range doc.Tags {
		if t != nil && len(im.Tags) < MaxTags && len(t.Name) <= MaxTagLen {
			im.Tags = append(im.Tags, t.Name)
		}
	}
	for _, srv := range doc.Servers {
		if u := serverURL(srv); u != "" {
			im.Backend = u
			break
		}
	}
	schemes := map[string]string{}
	if doc.Components != nil {
		for name, ref := range doc.Components.SecuritySchemes {
			if ref == nil || ref.Value == nil {
				continue
			}
			switch sc := ref.Value; {
			case sc.Type == "oauth2", sc.Type == "openIdConnect", sc.Type == "http" && strings.EqualFold(sc.Scheme, "bearer"):
				schemes[name] = AuthOAuth2
			case sc.Type == "apiKey":
				schemes[name] = AuthAPIKey
			}
		}
	}
	for _, a := range []string{AuthOAuth2, AuthAPIKey} {
		for _, v := range schemes {
			if v == a {
				im.AuthTypes = append(im.AuthTypes, a)
				break
			}
		}
	}
	paths := doc.Paths.Keys()
	sort.Strings(paths)
	for _, p := range paths {
		item := doc.Paths.Value(p)
		if item == nil {
			continue
		}
		ops := item.Operations()
		for _, m := range Methods {
			op := ops[m]
			if op == nil {
				continue
			}
			in := OperationInput{Method: m, Path: p, Summary: op.Summary, Auth: boolPtr(true)}
			if in.Summary == "" {
				in.Summary = op.OperationID
			}
			if len(in.Summary) > 200 {
				in.Summary = in.Summary[:200]
			}
			sec := doc.Security
			if op.Security != nil {
				sec = *op.Security
			}
			if op.Security != nil && len(*op.Security) == 0 {
				in.Auth = boolPtr(false)
			}
			for _, req := range sec {
				if len(req) == 0 {
					in.Auth = boolPtr(false) // anonymous is one of the alternatives
				}
				for name, scopes := range req {
					if schemes[name] == AuthOAuth2 {
						for _, sc := range scopes {
							if !slices.Contains(in.Scopes, sc) && scopeRE.MatchString(sc) {
								in.Scopes = append(in.Scopes, sc)
							}
						}
					}
				}
			}
			im.Operations = append(im.Operations, in)
		}
	}
	return im
}

// serverURL resolves a server's variables to their defaults; only absolute
// http(s) URLs can be backends.
func serverURL(srv *openapi3.Server) string {
	if srv == nil {
		return ""
	}
	u := srv.URL
	for name, v := range srv.Variables {
		if v != nil {
			u = strings.ReplaceAll(u, "{"+name+"}", v.Default)
		}
	}
	pu, err := url.Parse(u)
	if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" || strings.ContainsAny(u, "{}") {
		return ""
	}
	return strings.TrimRight(u, "/")
}

func boolPtr(b bool) *bool { return &b }

// Export builds the API's OpenAPI 3 document: the stored one (or a new skeleton)
// brought in line with the API's current name, version and operations, with the
// gateway URL as its only server.
func Export(a API, ops []Operation, gatewayURL string) ([]byte, error) {
	doc := &openapi3.T{}
	if a.OpenAPI != "" {
		loader := openapi3.NewLoader()
		d, err := loader.LoadFromData([]byte(a.OpenAPI))
		if err != nil {
			return nil, fmt.Errorf("catalog: stored OpenAPI of %s: %w", a.ID, err)
		}
		doc = d
	}
	if doc.OpenAPI == "" {
		doc.OpenAPI = "3.0.3"
	}
	if doc.Info == nil {
		doc.Info = &openapi3.Info{}
	}
	doc.Info.Title, doc.Info.Version = a.Name, a.Version
	if a.Description != "" {
		doc.Info.Description = a.Description
	}
	doc.Servers = openapi3.Servers{{URL: gatewayURL}}
	if doc.Paths == nil {
		doc.Paths = openapi3.NewPaths()
	}
	want := map[string]map[string]Operation{}
	for _, op := range ops {
		if want[op.Path] == nil {
			want[op.Path] = map[string]Operation{}
		}
		want[op.Path][op.Method] = op
	}
	for _, p := range doc.Paths.Keys() {
		item := doc.Paths.Value(p)
		for m := range item.Operations() {
			if _, keep := want[p][m]; !keep {
				item.SetOperation(m, nil)
			}
		}
		if len(item.Operations()) == 0 {
			doc.Paths.Delete(p)
		}
	}
	for p, byMethod := range want {
		item := doc.Paths.Value(p)
		if item == nil {
			item = &openapi3.PathItem{}
			doc.Paths.Set(p, item)
		}
		for m, op := range byMethod {
			o := item.GetOperation(m)
			if o == nil {
				responses := openapi3.NewResponses()
				responses.Set("default", &openapi3.ResponseRef{Value: openapi3.NewResponse().WithDescription("The backend's answer.")})
				o = &openapi3.Operation{Responses: responses}
				for _, name := range pathParamRE.FindAllString(p, -1) {
					o.AddParameter(openapi3.NewPathParameter(strings.Trim(name, "{}")).WithSchema(openapi3.NewStringSchema()))
				}
				item.SetOperation(m, o)
			}
			o.Summary = op.Summary
		}
	}
	return json.MarshalIndent(doc, "", "  ")
}
