package catalog

import (
	"context"

	"portico/internal/account"
)

// Limit is an operation's own rate limit, on top of the subscription's tier.
type Limit struct {
	Requests int64  `json:"requests"`
	Per      string `json:"per"`
}

// OperationInput creates or changes an operation; nil fields are left alone.
type OperationInput struct {
	Method  string   `json:"method"`
	Path    string   `json:"path"`
	Summary string   `json:"summary"`
	Scopes  []string `json:"scopes"`
	Auth    *bool    `json:"auth"`
	Limit   *Limit   `json:"limit"`
}

func checkOperation(in OperationInput) (Operation, error) {
	m, err := checkMethod(in.Method)
	if err != nil {
		return Operation{}, err
	}
	path, err := checkPath(in.Path)
	if err != nil {
		return Operation{}, err
	}
	scopes, err := checkScopes(in.Scopes)
	if err != nil {
		return Operation{}, err
	}
	op := Operation{Method: m, Path: path, Summary: truncate(in.Summary, 200), Scopes: encodeJSON(scopes), Auth: in.Auth == nil || *in.Auth}
	if in.Limit != nil {
		op.LimitRequests, op.LimitPer, err = checkLimit("limit", in.Limit.Requests, in.Limit.Per, true)
		if err != nil {
			return Operation{}, err
		}
	}
	return op, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// addOperations validates and stores ops in one batch, after the API's others.
func (s *Service) addOperations(ctx context.Context, apiID string, ins []OperationInput) error {
	if len(ins) == 0 {
		return nil
	}
	pos, err := s.repo.maxOperationPosition(ctx, apiID)
	if err != nil {
		return err
	}
	now := s.now()
	ops := make([]Operation, 0, len(ins))
	for _, in := range ins {
		op, err := checkOperation(in)
		if err != nil {
			return err
		}
		pos++
		op.ID, op.APIID, op.Position, op.CreatedAt, op.UpdatedAt = account.NewID(), apiID, pos, now, now
		ops = append(ops, op)
	}
	return s.repo.createOperations(ctx, ops)
}

// Operations lists an API's operations in order, after the given id.
func (s *Service) Operations(ctx context.Context, p account.Principal, apiID, after string, limit int) ([]Operation, error) {
	a, err := s.API(ctx, p, apiID)
	if err != nil {
		return nil, err
	}
	return s.repo.operations(ctx, a.ID, after, limit)
}

// CountOperations counts an API's operations.
func (s *Service) CountOperations(ctx context.Context, p account.Principal, apiID string) (int64, error) {
	a, err := s.API(ctx, p, apiID)
	if err != nil {
		return 0, err
	}
	return s.repo.countOperations(ctx, a.ID)
}

// CreateOperation adds an operation to an API.
func (s *Service) CreateOperation(ctx context.Context, p account.Principal, apiID string, in OperationInput) (Operation, error) {
	var out Operation
	err := s.st.InTx(ctx, func(ctx context.Context) error {
		a, err := s.managed(ctx, p, apiID)
		if err != nil {
			return err
		}
		op, err := checkOperation(in)
		if err != nil {
			return err
		}
		pos, err := s.repo.maxOperationPosition(ctx, a.ID)
		if err != nil {
			return err
		}
		now := s.now()
		op.ID, op.APIID, op.Position, op.CreatedAt, op.UpdatedAt = account.NewID(), a.ID, pos+1, now, now
		if err := s.repo.createOperations(ctx, []Operation{op}); err != nil {
			return err
		}
		if _, err := s.st.BumpConfigVersion(ctx); err != nil {
			return err
		}
		out = op
		return s.accounts.Audit(ctx, p, "operation.create", "api", a.ID, map[string]any{"method": op.Method, "path": op.Path})
	})
	return out, err
}

// UpdateOperation replaces an operation's method, path, summary, scopes, auth
// and limit with in's.
func (s *Service) UpdateOperation(ctx context.Context, p account.Principal, apiID, id string, in OperationInput) (Operation, error) {
	var out Operation
	err := s.st.InTx(ctx, func(ctx context.Context) error {
		a, err := s.managed(ctx, p, apiID)
		if err != nil {
			return err
		}
		cur, err := s.repo.operation(ctx, a.ID, id)
		if err != nil {
			return err
		}
		if in.Method == "" {
			in.Method = cur.Method
		}
		if in.Path == "" {
			in.Path = cur.Path
		}
		if in.Scopes == nil {
			in.Scopes = cur.ScopeList()
		}
		if in.Auth == nil {
			in.Auth = &cur.Auth
		}
		if in.Limit == nil {
			in.Limit = &Limit{Requests: cur.LimitRequests, Per: cur.LimitPer}
		}
		op, err := checkOperation(in)
		if err != nil {
			return err
		}
		op.ID, op.APIID, op.Position, op.CreatedAt, op.UpdatedAt = cur.ID, a.ID, cur.Position, cur.CreatedAt, s.now()
		if err := s.repo.saveOperation(ctx, &op); err != nil {
			return err
		}
		if _, err := s.st.BumpConfigVersion(ctx); err != nil {
			return err
		}
		out = op
		return s.accounts.Audit(ctx, p, "operation.update", "api", a.ID, map[string]any{"operation": op.ID, "method": op.Method, "path": op.Path})
	})
	return out, err
}

// DeleteOperation removes an operation.
func (s *Service) DeleteOperation(ctx context.Context, p account.Principal, apiID, id string) error {
	return s.st.InTx(ctx, func(ctx context.Context) error {
		a, err := s.managed(ctx, p, apiID)
		if err != nil {
			return err
		}
		if err := s.repo.deleteOperation(ctx, a.ID, id); err != nil {
			return err
		}
		if _, err := s.st.BumpConfigVersion(ctx); err != nil {
			return err
		}
		return s.accounts.Audit(ctx, p, "operation.delete", "api", a.ID, map[string]any{"operation": id})
	})
}
