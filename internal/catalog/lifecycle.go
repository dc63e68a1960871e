package catalog

import (
	"context"
	"fmt"
	"strings"

	"portico/internal/account"
	"portico/internal/platform/apperr"
)

// Action is a lifecycle move a publisher asks for (CONTRACT §5).
type Action string

// The lifecycle actions.
const (
	ActionPrototype Action = "prototype"
	ActionPublish   Action = "publish"
	ActionDeprecate Action = "deprecate"
	ActionRetire    Action = "retire"
	ActionBlock     Action = "block"
	ActionUnblock   Action = "unblock"
	ActionDemote    Action = "demote"
)

// Actions lists every action in the order the UI shows them.
var Actions = []Action{ActionPrototype, ActionPublish, ActionBlock, ActionUnblock, ActionDeprecate, ActionRetire, ActionDemote}

// transitions is WSO2's lifecycle graph: from each state, the actions allowed and
// where they lead. CREATED → PUBLISHED, PROTOTYPED; PROTOTYPED → PUBLISHED,
// CREATED, PROTOTYPED; PUBLISHED → BLOCKED, DEPRECATED, CREATED, PROTOTYPED,
// PUBLISHED; BLOCKED → PUBLISHED, DEPRECATED; DEPRECATED → RETIRED; RETIRED is final.
var transitions = map[State]map[Action]State{
	StateCreated: {
		ActionPublish:   StatePublished,
		ActionPrototype: StatePrototyped,
	},
	StatePrototyped: {
		ActionPublish:   StatePublished,
		ActionDemote:    StateCreated,
		ActionPrototype: StatePrototyped,
	},
	StatePublished: {
		ActionBlock:     StateBlocked,
		ActionDeprecate: StateDeprecated,
		ActionDemote:    StateCreated,
		ActionPrototype: StatePrototyped,
		ActionPublish:   StatePublished,
	},
	StateBlocked: {
		ActionUnblock:   StatePublished,
		ActionDeprecate: StateDeprecated,
	},
	StateDeprecated: {
		ActionRetire: StateRetired,
	},
	StateRetired: {},
}

// Next returns the state action leads to from s, or a 409 when the graph has no
// such move (a 400 when the action is unknown).
func Next(s State, a Action) (State, error) {
	moves, ok := transitions[s]
	if !ok {
		return "", fmt.Errorf("catalog: unknown state %q", s)
	}
	if !validAction(a) {
		return "", apperr.Invalid("action", "invalid_action", "action must be one of: "+joinActions(Actions)+".")
	}
	to, ok := moves[a]
	if !ok {
		allowed := LegalActions(s)
		msg := fmt.Sprintf("An API in state %s cannot %s.", s, a)
		if len(allowed) == 0 {
			msg += " RETIRED is final."
		} else {
			msg += " Allowed: " + joinActions(allowed) + "."
		}
		return "", apperr.Conflict("illegal_transition", msg)
	}
	return to, nil
}

// LegalActions lists the actions allowed from s, in the order of Actions.
func LegalActions(s State) []Action {
	var out []Action
	for _, a := range Actions {
		if _, ok := transitions[s][a]; ok {
			out = append(out, a)
		}
	}
	return out
}

func validAction(a Action) bool {
	for _, x := range Actions {
		if x == a {
			return true
		}
	}
	return false
}

func joinActions(as []Action) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = string(a)
	}
	return strings.Join(s, ", ")
}

// History lists what was done to an API (lifecycle moves, imports, edits,
// documents), newest first: the publisher's audit trail of it.
func (s *Service) History(ctx context.Context, p account.Principal, id string, limit int) ([]account.AuditEvent, error) {
	a, err := s.managed(ctx, p, id)
	if err != nil {
		return nil, err
	}
	return s.accounts.History(ctx, p, "api", a.ID, limit)
}
