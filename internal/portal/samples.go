package portal

import (
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// sample is one operation's call in one language.
type sample struct {
	Lang, Label, Code string
}

// sampleContext is what every sample of one API shares: the gateway URL and
// the credential header the API takes.
type sampleContext struct {
	GatewayURL string
	// APIKey: the samples send the `apikey` header; otherwise a bearer token.
	APIKey bool
}

// call is an operation reduced to what a sample sends.
type call struct {
	Method, URL string
	Headers     [][2]string
	Body        string // JSON or text; "" for none
	JSONBody    any    // Body decoded, when it is JSON
}

func (g sampleContext) call(op operationView) call {
	path := op.Path
	q := url.Values{}
	for _, p := range op.Params {
		switch p.In {
		case "path":
			v := p.Example
			if v == "" {
				v = "{" + p.Name + "}"
			} else {
				v = url.PathEscape(v)
			}
			path = strings.ReplaceAll(path, "{"+p.Name+"}", v)
		case "query":
			if p.Required || p.Example != "" {
				v := p.Example
				if v == "" {
					v = p.Name
				}
				q.Set(p.Name, v)
			}
		}
	}
	c := call{Method: op.Method, URL: g.GatewayURL + path}
	if len(q) > 0 {
		c.URL += "?" + q.Encode()
	}
	if g.APIKey {
		c.Headers = append(c.Headers, [2]string{"apikey", "YOUR_API_KEY"})
	} else {
		c.Headers = append(c.Headers, [2]string{"Authorization", "Bearer YOUR_ACCESS_TOKEN"})
	}
	for _, p := range op.Params {
		if p.In == "header" && (p.Required || p.Example != "") && !strings.EqualFold(p.Name, "apikey") && !strings.EqualFold(p.Name, "authorization") {
			c.Headers = append(c.Headers, [2]string{p.Name, p.Example})
		}
	}
	if op.Body != nil {
		c.Headers = append(c.Headers, [2]string{"Content-Type", op.Body.ContentType})
		c.Body = op.Body.Example
		if strings.Contains(op.Body.ContentType, "json") && c.Body != "" {
			var v any
			if json.Unmarshal([]byte(c.Body), &v) == nil {
				c.JSONBody = v
				compact, _ := json.Marshal(v)
				c.Body = string(compact)
			}
		}
	}
	return c
}

// samples builds the curl, JavaScript, Python and Go calls of op.
func (g sampleContext) samples(op operationView) []sample {
	c := g.call(op)
	return []sample{
		{Lang: "curl", Label: "curl", Code: curlSample(c)},
		{Lang: "javascript", Label: "JavaScript", Code: fetchSample(c)},
		{Lang: "python", Label: "Python", Code: pythonSample(c)},
		{Lang: "go", Label: "Go", Code: goSample(c)},
	}
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func curlSample(c call) string {
	var b strings.Builder
	b.WriteString("curl")
	if c.Method != "GET" {
		b.WriteString(" -X " + c.Method)
	}
	b.WriteString(" " + shellQuote(c.URL))
	for _, h := range c.Headers {
		b.WriteString(" \\\n  -H " + shellQuote(h[0]+": "+h[1]))
	}
	if c.Body != "" {
		b.WriteString(" \\\n  --data " + shellQuote(c.Body))
	}
	return b.String()
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func fetchSample(c call) string {
	var b strings.Builder
	fmt.Fprintf(&b, "const response = await fetch(%s, {\n  method: %s,\n  headers: {\n", jsString(c.URL), jsString(c.Method))
	for _, h := range c.Headers {
		fmt.Fprintf(&b, "    %s: %s,\n", jsString(h[0]), jsString(h[1]))
	}
	b.WriteString("  },\n")
	switch {
	case c.JSONBody != nil:
		body, _ := json.MarshalIndent(c.JSONBody, "  ", "  ")
		fmt.Fprintf(&b, "  body: JSON.stringify(%s),\n", body)
	case c.Body != "":
		fmt.Fprintf(&b, "  body: %s,\n", jsString(c.Body))
	}
	b.WriteString("});\nconsole.log(response.status, await response.text());")
	return b.String()
}

// pyLiteral writes a decoded JSON value as a Python literal.
func pyLiteral(v any, indent string) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case string:
		return jsString(x) // JSON string escapes are valid Python
	case []any:
		if len(x) == 0 {
			return "[]"
		}
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = indent + "    " + pyLiteral(e, indent+"    ")
		}
		return "[\n" + strings.Join(parts, ",\n") + ",\n" + indent + "]"
	case map[string]any:
		if len(x) == 0 {
			return "{}"
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = indent + "    " + jsString(k) + ": " + pyLiteral(x[k], indent+"    ")
		}
		return "{\n" + strings.Join(parts, ",\n") + ",\n" + indent + "}"
	}
	return "None"
}

func pythonSample(c call) string {
	var b strings.Builder
	b.WriteString("import requests\n\nresponse = requests.request(\n")
	fmt.Fprintf(&b, "    %s,\n    %s,\n    headers={\n", jsString(c.Method), jsString(c.URL))
	for _, h := range c.Headers {
		if c.JSONBody != nil && h[0] == "Content-Type" {
			continue // json= sets it
		}
		fmt.Fprintf(&b, "        %s: %s,\n", jsString(h[0]), jsString(h[1]))
	}
	b.WriteString("    },\n")
	switch {
	case c.JSONBody != nil:
		fmt.Fprintf(&b, "    json=%s,\n", pyLiteral(c.JSONBody, "    "))
	case c.Body != "":
		fmt.Fprintf(&b, "    data=%s,\n", jsString(c.Body))
	}
	b.WriteString(")\nprint(response.status_code, response.text)")
	return b.String()
}

func goSample(c call) string {
	var b strings.Builder
	b.WriteString("package main\n\nimport (\n\t\"fmt\"\n\t\"io\"\n\t\"net/http\"\n")
	if c.Body != "" {
		b.WriteString("\t\"strings\"\n")
	}
	b.WriteString(")\n\nfunc main() {\n")
	body := "nil"
	if c.Body != "" {
		lit := "`" + c.Body + "`"
		if strings.Contains(c.Body, "`") {
			lit = strconv.Quote(c.Body)
		}
		fmt.Fprintf(&b, "\tbody := strings.NewReader(%s)\n", lit)
		body = "body"
	}
	fmt.Fprintf(&b, "\treq, err := http.NewRequest(%s, %s, %s)\n\tif err != nil {\n\t\tpanic(err)\n\t}\n", strconv.Quote(c.Method), strconv.Quote(c.URL), body)
	for _, h := range c.Headers {
		fmt.Fprintf(&b, "\treq.Header.Set(%s, %s)\n", strconv.Quote(h[0]), strconv.Quote(h[1]))
	}
	b.WriteString("\tresp, err := http.DefaultClient.Do(req)\n\tif err != nil {\n\t\tpanic(err)\n\t}\n\tdefer resp.Body.Close()\n")
	b.WriteString("\tout, _ := io.ReadAll(resp.Body)\n\tfmt.Println(resp.Status, string(out))\n}")
	return b.String()
}
