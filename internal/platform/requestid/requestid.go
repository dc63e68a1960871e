// Package requestid carries a request's id through contexts and logs. It is its
// own package so the gateway can use it without importing Echo.
package requestid

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"log/slog"
	"sync/atomic"
)

// Header is the request id header, kept when a caller sends a sane one.
const Header = "X-Request-ID"

type requestIDKey struct{}

// With returns ctx carrying id.
func With(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// From returns the request id carried by ctx, or "".
func From(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// Generator makes request ids: 32 hex characters, a random per-generator
// prefix and a counter. Unique across processes and restarts, with no system
// call per id (the gateway makes one for every call that arrives without one).
type Generator struct {
	prefix  [8]byte
	counter atomic.Uint64
}

// NewGenerator returns a generator with a random prefix and starting point.
func NewGenerator() *Generator {
	g := &Generator{}
	var b [8]byte
	_, _ = rand.Read(g.prefix[:])
	_, _ = rand.Read(b[:])
	g.counter.Store(binary.BigEndian.Uint64(b[:]) >> 16)
	return g
}

// New returns the next id.
func (g *Generator) New() string {
	n := g.counter.Add(1)
	var b [16]byte
	copy(b[:8], g.prefix[:])
	for i := 15; i >= 8; i-- {
		b[i] = byte(n)
		n >>= 8
	}
	return hex.EncodeToString(b[:])
}

// Valid reports whether a caller-sent id may be kept: 1-128 printable
// ASCII characters without spaces, so it is safe in headers and logs.
func Valid(id string) bool {
	if len(id) == 0 || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return false
		}
	}
	return true
}

// ContextHandler wraps an slog.Handler so every record logged with a context
// carries that context's request id.
type ContextHandler struct{ slog.Handler }

// Handle adds request_id when ctx has one.
func (h ContextHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := From(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

// WithAttrs keeps the wrapper around the derived handler.
func (h ContextHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return ContextHandler{h.Handler.WithAttrs(attrs)}
}

// WithGroup keeps the wrapper around the derived handler.
func (h ContextHandler) WithGroup(name string) slog.Handler {
	return ContextHandler{h.Handler.WithGroup(name)}
}
