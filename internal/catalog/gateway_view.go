package catalog

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"

	"github.com/getkin/kin-openapi/openapi3"
)

// GatewayAPI is one servable API version as the gateway needs it: its row, its
// operations, its backend credential in clear, and — for prototypes — the
// example answers of its operations.
type GatewayAPI struct {
	API        API
	Operations []Operation
	Credential BackendCredential
	// TLSKey is the mutual-TLS client key in clear (PEM), when the API has one.
	TLSKey string
	// Mocks holds PROTOTYPED answers by "METHOD /path/template".
	Mocks map[string]Mock
}

// Mock is an example answer taken from the OpenAPI document.
type Mock struct {
	Status      int
	ContentType string
	Body        []byte
}

// GatewayView is everything the gateway needs from the catalog.
type GatewayView struct {
	APIs  []GatewayAPI
	Tiers []Tier
}

// servedStates are the states the gateway answers for; CREATED and RETIRED are
// left out, so the gateway answers 404 for them.
var servedStates = []State{StatePublished, StateDeprecated, StatePrototyped, StateBlocked}

// GatewayView reads the view with ctx (the loader's read-only transaction).
// An API whose credential cannot be opened, or whose prototype document cannot be
// read, fails the whole view: the gateway then keeps its last good snapshot.
func (s *Service) GatewayView(ctx context.Context) (GatewayView, error) {
	var v GatewayView
	apis, ops, tiers, err := s.repo.gatewayRows(ctx, servedStates)
	if err != nil {
		return v, err
	}
	v.Tiers = tiers
	byAPI := map[string][]Operation{}
	for _, o := range ops {
		byAPI[o.APIID] = append(byAPI[o.APIID], o)
	}
	for _, a := range apis {
		cred, err := s.BackendCredential(a)
		if err != nil {
			return v, err
		}
		ga := GatewayAPI{API: a, Operations: byAPI[a.ID], Credential: cred}
		if a.BackendTLSKey != "" {
			k, err := s.sealer.Open(a.BackendTLSKey)
			if err != nil {
				return v, fmt.Errorf("catalog: backend TLS key of API %s: %w", a.ID, err)
			}
			ga.TLSKey = string(k)
		}
		if a.State == StatePrototyped && a.OpenAPI != "" {
			if ga.Mocks, err = mocksFrom(ctx, a.OpenAPI); err != nil {
				return v, fmt.Errorf("catalog: examples of API %s: %w", a.ID, err)
			}
		}
		v.APIs = append(v.APIs, ga)
	}
	return v, nil
}

// mocksFrom takes each operation's first success response with an example.
func mocksFrom(ctx context.Context, doc string) (map[string]Mock, error) {
	loader := openapi3.NewLoader()
	loader.Context = ctx
	t, err := loader.LoadFromData([]byte(doc))
	if err != nil {
		return nil, err
	}
	out := map[string]Mock{}
	if t.Paths == nil {
		return out, nil
	}
	for path, item := range t.Paths.Map() {
		for method, op := range item.Operations() {
			if m, ok := exampleOf(op); ok {
				out[method+" "+path] = m
			}
		}
	}
	return out, nil
}

func exampleOf(op *openapi3.Operation) (Mock, bool) {
	if op.Responses == nil {
		return Mock{}, false
	}
	codes := []string{}
	for code := range op.Responses.Map() {
		codes = append(codes, code)
	}
	sort.Strings(codes) // "200" before "201" before "default"
	for _, code := range codes {
		status := 200
		if code != "default" {
			n, err := strconv.Atoi(code)
			if err != nil || n < 200 || n > 299 {
				continue
			}
			status = n
		}
		resp := op.Responses.Value(code)
		if resp == nil || resp.Value == nil {
			continue
		}
		if len(resp.Value.Content) == 0 && status == 204 {
			return Mock{Status: status}, true
		}
		types := []string{}
		for ct := range resp.Value.Content {
			types = append(types, ct)
		}
		sort.Slice(types, func(i, j int) bool { // JSON first, then by name
			ji, jj := types[i] == "application/json", types[j] == "application/json"
			if ji != jj {
				return ji
			}
			return types[i] < types[j]
		})
		for _, ct := range types {
			mt := resp.Value.Content[ct]
			if ex, ok := mediaExample(mt); ok {
				body, err := exampleBody(ct, ex)
				if err != nil {
					continue
				}
				return Mock{Status: status, ContentType: ct, Body: body}, true
			}
		}
	}
	return Mock{}, false
}

func mediaExample(mt *openapi3.MediaType) (any, bool) {
	if mt == nil {
		return nil, false
	}
	if mt.Example != nil {
		return mt.Example, true
	}
	names := []string{}
	for name := range mt.Examples {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, n := range names {
		if ex := mt.Examples[n]; ex != nil && ex.Value != nil && ex.Value.Value != nil {
			return ex.Value.Value, true
		}
	}
	if mt.Schema != nil && mt.Schema.Value != nil && mt.Schema.Value.Example != nil {
		return mt.Schema.Value.Example, true
	}
	return nil, false
}

func exampleBody(contentType string, ex any) ([]byte, error) {
	if s, ok := ex.(string); ok && contentType != "application/json" {
		return []byte(s), nil
	}
	return json.Marshal(ex)
}
