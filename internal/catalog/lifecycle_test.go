package catalog

import (
	"testing"

	"portico/internal/platform/apperr"
)

// TestNextCoversEveryMove checks every (state, action) pair against WSO2's graph:
// the legal ones land where the graph says, every other answers 409.
func TestNextCoversEveryMove(t *testing.T) {
	legal := map[State]map[Action]State{
		StateCreated:    {ActionPublish: StatePublished, ActionPrototype: StatePrototyped},
		StatePrototyped: {ActionPublish: StatePublished, ActionDemote: StateCreated, ActionPrototype: StatePrototyped},
		StatePublished: {ActionBlock: StateBlocked, ActionDeprecate: StateDeprecated, ActionDemote: StateCreated,
			ActionPrototype: StatePrototyped, ActionPublish: StatePublished},
		StateBlocked:    {ActionUnblock: StatePublished, ActionDeprecate: StateDeprecated},
		StateDeprecated: {ActionRetire: StateRetired},
		StateRetired:    {},
	}
	n := 0
	for _, from := range States {
		for _, action := range Actions {
			want, ok := legal[from][action]
			name := string(from) + " " + string(action)
			if ok {
				name += " moves to " + string(want)
			} else {
				name += " is refused with 409"
			}
			t.Run(name, func(t *testing.T) {
				got, err := Next(from, action)
				if ok {
					if err != nil || got != want {
						t.Fatalf("Next(%s, %s) = %s, %v; want %s", from, action, got, err, want)
					}
					return
				}
				if apperr.KindOf(err) != apperr.KindConflict {
					t.Fatalf("Next(%s, %s) = %s, %v; want a conflict", from, action, got, err)
				}
				if e, _ := apperr.As(err); e.Code != "illegal_transition" {
					t.Fatalf("code %q, want illegal_transition", e.Code)
				}
			})
			n++
		}
	}
	if n != len(States)*len(Actions) {
		t.Fatalf("covered %d moves", n)
	}
}

func TestNextRefusesUnknownAction(t *testing.T) {
	for _, a := range []Action{"", "launch", "PUBLISH"} {
		if _, err := Next(StateCreated, a); apperr.KindOf(err) != apperr.KindInvalid {
			t.Errorf("action %q: %v, want invalid", a, err)
		}
	}
}

func TestLegalActionsMatchNext(t *testing.T) {
	for _, s := range States {
		for _, a := range LegalActions(s) {
			if _, err := Next(s, a); err != nil {
				t.Errorf("%s lists %s but Next refuses it: %v", s, a, err)
			}
		}
	}
	if got := LegalActions(StateRetired); len(got) != 0 {
		t.Errorf("RETIRED allows %v; it is final", got)
	}
}

func TestNormContext(t *testing.T) {
	tests := []struct {
		in, want, code string
	}{
		{"pets", "pets", ""},
		{"/Pets/", "pets", ""},
		{"pet-store_2", "pet-store_2", ""},
		{"", "", "invalid_context"},
		{"a/b", "", "invalid_context"},
		{"-pets", "", "invalid_context"},
		{"pets?x", "", "invalid_context"},
		{"publisher", "", "reserved_context"},
		{"API", "", "reserved_context"},
		{".well-known", "", "reserved_context"},
		{"healthz", "", "reserved_context"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := NormContext(tt.in)
			if tt.code == "" {
				if err != nil || got != tt.want {
					t.Fatalf("NormContext(%q) = %q, %v", tt.in, got, err)
				}
				return
			}
			e, ok := apperr.As(err)
			if !ok || e.Code != tt.code || e.Kind != apperr.KindInvalid {
				t.Fatalf("NormContext(%q) error %v, want %s", tt.in, err, tt.code)
			}
		})
	}
}

func TestCheckPath(t *testing.T) {
	for _, p := range []string{"/", "/pets", "/pets/{id}", "/a/{b}/c/{d}.json"} {
		if _, err := checkPath(p); err != nil {
			t.Errorf("%q refused: %v", p, err)
		}
	}
	for _, p := range []string{"", "pets", "/pets/{", "/pets/{}", "/pets/}", "/pets?x=1", "/a b"} {
		if _, err := checkPath(p); err == nil {
			t.Errorf("%q accepted", p)
		}
	}
}
