package transform

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/clbanning/mxj/v2"
)

// MaxBody bounds a body the gateway buffers to transform.
const MaxBody = 10 << 20

// Config is an API's rules as stored (JSON) by the catalog.
type Config struct {
	Request  Rules `json:"request"`
	Response Rules `json:"response"`
	// Backend is "xml" when the backend speaks XML: JSON request bodies are
	// sent as XML and XML answers come back as JSON.
	Backend string `json:"backend,omitempty"`
}

// Rules rewrite one direction of a call.
type Rules struct {
	SetHeaders    map[string]string `json:"set_headers,omitempty"`
	RemoveHeaders []string          `json:"remove_headers,omitempty"`
	RenameHeaders map[string]string `json:"rename_headers,omitempty"`
	// Query rules apply to requests only.
	SetQuery    map[string]string `json:"set_query,omitempty"`
	RemoveQuery []string          `json:"remove_query,omitempty"`
	RenameQuery map[string]string `json:"rename_query,omitempty"`
	// PathPrefix replaces the start of the path (requests only):
	// {"from": "/pets", "to": "/animals"}.
	PathPrefix *PathPrefix `json:"path_prefix,omitempty"`
	Body       *BodyRules  `json:"body,omitempty"`
}

// PathPrefix is a path rewrite.
type PathPrefix struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// BodyRules change a JSON body's fields. Paths are dotted ("owner.name").
type BodyRules struct {
	Rename map[string]string `json:"rename,omitempty"`
	Remove []string          `json:"remove,omitempty"`
	Set    map[string]any    `json:"set,omitempty"`
}

// Parse reads and checks rules. Empty text means no rules (nil, nil).
func Parse(text string) (*Compiled, error) {
	if strings.TrimSpace(text) == "" || text == "{}" {
		return nil, nil
	}
	var c Config
	dec := json.NewDecoder(strings.NewReader(text))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("transforms: %w", err)
	}
	return Compile(c)
}

// Compiled is a Config ready to apply. Safe for concurrent use; never changed.
type Compiled struct {
	req, resp compiledRules
	xml       bool
}

type compiledRules struct {
	set     [][2]string // canonical name, value
	remove  []string
	rename  [][2]string
	setQ    [][2]string
	removeQ []string
	renameQ [][2]string
	prefix  *PathPrefix
	body    *BodyRules
}

// Compile checks c and prepares it.
func Compile(c Config) (*Compiled, error) {
	if c.Backend != "" && c.Backend != "xml" {
		return nil, errors.New(`transforms: backend must be "xml" or empty`)
	}
	req, err := compileRules(c.Request, true)
	if err != nil {
		return nil, fmt.Errorf("transforms: request: %w", err)
	}
	resp, err := compileRules(c.Response, false)
	if err != nil {
		return nil, fmt.Errorf("transforms: response: %w", err)
	}
	out := &Compiled{req: req, resp: resp, xml: c.Backend == "xml"}
	if out.empty() {
		return nil, nil
	}
	return out, nil
}

func (c *Compiled) empty() bool { return !c.xml && c.req.empty() && c.resp.empty() }

func (r compiledRules) empty() bool {
	return len(r.set)+len(r.remove)+len(r.rename)+len(r.setQ)+len(r.removeQ)+len(r.renameQ) == 0 && r.prefix == nil && r.body == nil
}

// protected headers cannot be set or removed by rules: they carry the gateway's
// own guarantees (who is calling, framing).
var protected = map[string]bool{"X-Portico-Application": true, "Content-Length": true, "Transfer-Encoding": true, "Host": true, "Connection": true}

func compileRules(r Rules, request bool) (compiledRules, error) {
	var out compiledRules
	for _, k := range sortedKeys(r.SetHeaders) {
		name, err := headerName(k)
		if err != nil {
			return out, err
		}
		out.set = append(out.set, [2]string{name, r.SetHeaders[k]})
	}
	for _, k := range r.RemoveHeaders {
		name, err := headerName(k)
		if err != nil {
			return out, err
		}
		out.remove = append(out.remove, name)
	}
	for _, k := range sortedKeys(r.RenameHeaders) {
		from, err := headerName(k)
		if err != nil {
			return out, err
		}
		to, err := headerName(r.RenameHeaders[k])
		if err != nil {
			return out, err
		}
		out.rename = append(out.rename, [2]string{from, to})
	}
	if !request && (len(r.SetQuery)+len(r.RemoveQuery)+len(r.RenameQuery) > 0 || r.PathPrefix != nil) {
		return out, errors.New("query and path rules apply to requests only")
	}
	for _, k := range sortedKeys(r.SetQuery) {
		out.setQ = append(out.setQ, [2]string{k, r.SetQuery[k]})
	}
	out.removeQ = r.RemoveQuery
	for _, k := range sortedKeys(r.RenameQuery) {
		out.renameQ = append(out.renameQ, [2]string{k, r.RenameQuery[k]})
	}
	if p := r.PathPrefix; p != nil {
		if !strings.HasPrefix(p.From, "/") || !strings.HasPrefix(p.To, "/") {
			return out, errors.New(`path_prefix "from" and "to" must start with "/"`)
		}
		out.prefix = p
	}
	if b := r.Body; b != nil {
		for _, path := range append(append(sortedKeys(b.Rename), b.Remove...), sortedKeys(b.Set)...) {
			if path == "" || strings.HasPrefix(path, ".") || strings.HasSuffix(path, ".") || strings.Contains(path, "..") {
				return out, fmt.Errorf("body field path %q is not a dotted path like owner.name", path)
			}
		}
		out.body = b
	}
	return out, nil
}

func headerName(k string) (string, error) {
	name := http.CanonicalHeaderKey(strings.TrimSpace(k))
	if name == "" || strings.ContainsAny(name, " :\r\n") {
		return "", fmt.Errorf("%q is not a header name", k)
	}
	if protected[name] {
		return "", fmt.Errorf("the header %s is the gateway's own and cannot be rewritten", name)
	}
	return name, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ErrTooLarge is returned when a body to transform exceeds MaxBody.
var ErrTooLarge = errors.New("transforms: body larger than the gateway transforms")

// Request rewrites an outgoing request in place.
func (c *Compiled) Request(r *http.Request) error {
	applyHeaders(r.Header, c.req)
	if len(c.req.setQ)+len(c.req.removeQ)+len(c.req.renameQ) > 0 {
		q := r.URL.Query()
		for _, k := range c.req.removeQ {
			q.Del(k)
		}
		for _, kv := range c.req.renameQ {
			if v, ok := q[kv[0]]; ok {
				q.Del(kv[0])
				q[kv[1]] = v
			}
		}
		for _, kv := range c.req.setQ {
			q.Set(kv[0], kv[1])
		}
		r.URL.RawQuery = q.Encode()
	}
	if p := c.req.prefix; p != nil && strings.HasPrefix(r.URL.Path, p.From) {
		r.URL.Path = p.To + strings.TrimPrefix(r.URL.Path, p.From)
		r.URL.RawPath = ""
	}
	if c.req.body == nil && !c.xml {
		return nil
	}
	if r.Body == nil || r.Body == http.NoBody || !isJSON(r.Header.Get("Content-Type")) {
		return nil
	}
	body, err := readBounded(r.Body)
	if err != nil {
		return err
	}
	out, ctype, err := c.transformBody(body, c.req.body, c.xml)
	if err != nil {
		return err
	}
	setBody(r.Header, &r.Body, &r.ContentLength, out, ctype)
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(out)), nil }
	return nil
}

// Response rewrites a backend's answer in place.
func (c *Compiled) Response(resp *http.Response) error {
	applyHeaders(resp.Header, c.resp)
	ct := resp.Header.Get("Content-Type")
	fromXML := c.xml && isXML(ct)
	if (c.resp.body == nil || !isJSON(ct)) && !fromXML {
		return nil
	}
	body, err := readBounded(resp.Body)
	if err != nil {
		return err
	}
	if fromXML {
		m, err := mxj.NewMapXml(body)
		if err != nil {
			return fmt.Errorf("transforms: the backend's XML: %w", err)
		}
		if body, err = json.Marshal(map[string]any(m)); err != nil {
			return err
		}
	}
	out, _, err := c.transformBody(body, c.resp.body, false)
	if err != nil {
		return err
	}
	setBody(resp.Header, &resp.Body, &resp.ContentLength, out, "application/json")
	return nil
}

func (c *Compiled) transformBody(body []byte, rules *BodyRules, toXML bool) ([]byte, string, error) {
	var doc any
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, "", fmt.Errorf("transforms: the body is not JSON: %w", err)
	}
	if rules != nil {
		obj, ok := doc.(map[string]any)
		if !ok {
			return nil, "", errors.New("transforms: body rules need a JSON object")
		}
		for _, from := range sortedKeys(rules.Rename) {
			if v, ok := take(obj, from); ok {
				put(obj, rules.Rename[from], v)
			}
		}
		for _, p := range rules.Remove {
			take(obj, p)
		}
		for _, p := range sortedKeys(rules.Set) {
			put(obj, p, rules.Set[p])
		}
		doc = obj
	}
	if toXML {
		obj, ok := doc.(map[string]any)
		if !ok {
			obj = map[string]any{"value": doc}
		}
		// {"pet": {...}} becomes <pet>…</pet>; anything else is wrapped in <request>.
		var out []byte
		var err error
		if len(obj) == 1 {
			out, err = mxj.Map(obj).Xml()
		} else {
			out, err = mxj.Map(obj).Xml("request")
		}
		return out, "application/xml", err
	}
	out, err := json.Marshal(doc)
	return out, "application/json", err
}

// take removes and returns the value at a dotted path.
func take(obj map[string]any, path string) (any, bool) {
	parts := strings.Split(path, ".")
	for _, p := range parts[:len(parts)-1] {
		next, ok := obj[p].(map[string]any)
		if !ok {
			return nil, false
		}
		obj = next
	}
	last := parts[len(parts)-1]
	v, ok := obj[last]
	delete(obj, last)
	return v, ok
}

// put sets the value at a dotted path, making objects on the way.
func put(obj map[string]any, path string, v any) {
	parts := strings.Split(path, ".")
	for _, p := range parts[:len(parts)-1] {
		next, ok := obj[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			obj[p] = next
		}
		obj = next
	}
	obj[parts[len(parts)-1]] = v
}

func applyHeaders(h http.Header, r compiledRules) {
	for _, name := range r.remove {
		delete(h, name)
	}
	for _, kv := range r.rename {
		if v, ok := h[kv[0]]; ok {
			delete(h, kv[0])
			h[kv[1]] = v
		}
	}
	for _, kv := range r.set {
		h[kv[0]] = []string{kv[1]}
	}
}

func readBounded(rc io.ReadCloser) ([]byte, error) {
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, MaxBody+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxBody {
		return nil, ErrTooLarge
	}
	return b, nil
}

func setBody(h http.Header, body *io.ReadCloser, length *int64, b []byte, ctype string) {
	*body = io.NopCloser(bytes.NewReader(b))
	*length = int64(len(b))
	h.Set("Content-Length", strconv.Itoa(len(b)))
	h.Set("Content-Type", ctype)
	h.Del("Content-Encoding")
}

func isJSON(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

func isXML(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "application/xml" || mt == "text/xml" || strings.HasSuffix(mt, "+xml"))
}
