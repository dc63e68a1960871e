package catalog

import (
	"context"
	"fmt"
	"strings"

	"gorm.io/gorm/clause"

	"portico/internal/store"
)

// repo is the only code of this package that touches GORM. Every query is
// scoped by organisation, directly or through an API already checked to be the
// caller's.
type repo struct{ st *store.Store }

func (r repo) reserveContext(ctx context.Context, c *apiContext) error {
	err := r.st.DB(ctx).Create(c).Error
	if store.IsUniqueViolation(err) {
		return ErrContextTaken.WithField("context")
	}
	return wrap("reserve context", err)
}

func (r repo) releaseContextIfUnused(ctx context.Context, context string) error {
	var n int64
	if err := r.st.DB(ctx).Model(&API{}).Where("context = ?", context).Count(&n).Error; err != nil {
		return wrap("count context", err)
	}
	if n > 0 {
		return nil
	}
	return wrap("release context", r.st.DB(ctx).Where("context = ?", context).Delete(&apiContext{}).Error)
}

func (r repo) createAPI(ctx context.Context, a *API) error {
	err := r.st.DB(ctx).Create(a).Error
	if store.IsUniqueViolation(err) {
		return ErrVersionTaken.WithField("version")
	}
	return wrap("create API", err)
}

func (r repo) saveAPI(ctx context.Context, a *API) error {
	err := r.st.DB(ctx).Save(a).Error
	if store.IsUniqueViolation(err) {
		return ErrDefaultTaken
	}
	return wrap("save API", err)
}

func (r repo) apiByID(ctx context.Context, orgID, id string) (API, error) {
	var a API
	err := r.st.DB(ctx).Where("org_id = ? AND id = ?", orgID, id).Take(&a).Error
	return a, notFound(err, ErrAPINotFound)
}

func (r repo) deleteAPI(ctx context.Context, id string) error {
	db := r.st.DB(ctx)
	for _, m := range []any{&Operation{}, &Document{}} {
		if err := db.Where("api_id = ?", id).Delete(m).Error; err != nil {
			return wrap("delete API children", err)
		}
	}
	return wrap("delete API", db.Where("id = ?", id).Delete(&API{}).Error)
}

// apiQuery is what a list asks for.
type apiQuery struct {
	OrgID  string
	Q      string
	States []State
	// Visibility, when set, limits to that visibility.
	Visibility string
	After      string
	Limit      int
}

// likePattern escapes a search term for LIKE ... ESCAPE '\'.
func likePattern(q string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(strings.ToLower(q)) + "%"
}

func (r repo) listAPIs(ctx context.Context, q apiQuery) ([]API, error) {
	db := r.st.DB(ctx).Where("org_id = ?", q.OrgID)
	if len(q.States) > 0 {
		db = db.Where("state IN ?", q.States)
	}
	if q.Visibility != "" {
		db = db.Where("visibility = ?", q.Visibility)
	}
	if q.Q != "" {
		like := likePattern(q.Q)
		ops := r.st.DB(ctx).Model(&Operation{}).Select("api_id").
			Where(`LOWER(path) LIKE ? ESCAPE '\' OR LOWER(summary) LIKE ? ESCAPE '\'`, like, like)
		db = db.Where(`LOWER(name) LIKE ? ESCAPE '\' OR LOWER(description) LIKE ? ESCAPE '\' OR LOWER(tags) LIKE ? ESCAPE '\' OR LOWER(context) LIKE ? ESCAPE '\' OR id IN (?)`,
			like, like, like, like, ops)
	}
	if q.After != "" {
		db = db.Where("id < ?", q.After)
	}
	var out []API
	err := db.Omit("openapi").Order("id DESC").Limit(q.Limit).Find(&out).Error
	return out, wrap("list APIs", err)
}

func (r repo) family(ctx context.Context, orgID, familyID string) ([]API, error) {
	var out []API
	err := r.st.DB(ctx).Omit("openapi").Where("org_id = ? AND family_id = ?", orgID, familyID).Order("id").Find(&out).Error
	return out, wrap("list versions", err)
}

func (r repo) clearDefault(ctx context.Context, context, exceptID string) error {
	return wrap("clear default version", r.st.DB(ctx).Model(&API{}).
		Where("context = ? AND id <> ? AND default_version = ?", context, exceptID, true).
		Update("default_version", false).Error)
}

func (r repo) setState(ctx context.Context, id string, s State, at any) error {
	return wrap("set state", r.st.DB(ctx).Model(&API{}).Where("id = ?", id).
		Updates(map[string]any{"state": s, "updated_at": at}).Error)
}

func (r repo) createOperations(ctx context.Context, ops []Operation) error {
	if len(ops) == 0 {
		return nil
	}
	err := r.st.DB(ctx).CreateInBatches(ops, 500).Error
	if store.IsUniqueViolation(err) {
		return ErrOperationTaken
	}
	return wrap("create operations", err)
}

func (r repo) operations(ctx context.Context, apiID, after string, limit int) ([]Operation, error) {
	db := r.st.DB(ctx).Where("api_id = ?", apiID)
	if after != "" {
		db = db.Where("id > ?", after)
	}
	if limit > 0 {
		db = db.Limit(limit)
	}
	var out []Operation
	err := db.Order("position, id").Find(&out).Error
	return out, wrap("list operations", err)
}

func (r repo) maxOperationPosition(ctx context.Context, apiID string) (int, error) {
	var n *int
	err := r.st.DB(ctx).Model(&Operation{}).Where("api_id = ?", apiID).Select("MAX(position)").Scan(&n).Error
	if n == nil {
		return 0, wrap("operation position", err)
	}
	return *n, wrap("operation position", err)
}

func (r repo) operation(ctx context.Context, apiID, id string) (Operation, error) {
	var o Operation
	err := r.st.DB(ctx).Where("api_id = ? AND id = ?", apiID, id).Take(&o).Error
	return o, notFound(err, ErrOperationNotFound)
}

func (r repo) saveOperation(ctx context.Context, o *Operation) error {
	err := r.st.DB(ctx).Save(o).Error
	if store.IsUniqueViolation(err) {
		return ErrOperationTaken
	}
	return wrap("save operation", err)
}

func (r repo) deleteOperation(ctx context.Context, apiID, id string) error {
	res := r.st.DB(ctx).Where("api_id = ? AND id = ?", apiID, id).Delete(&Operation{})
	if res.Error != nil {
		return wrap("delete operation", res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrOperationNotFound
	}
	return nil
}

func (r repo) deleteOperations(ctx context.Context, apiID string) error {
	return wrap("delete operations", r.st.DB(ctx).Where("api_id = ?", apiID).Delete(&Operation{}).Error)
}

func (r repo) countOperations(ctx context.Context, apiID string) (int64, error) {
	var n int64
	err := r.st.DB(ctx).Model(&Operation{}).Where("api_id = ?", apiID).Count(&n).Error
	return n, wrap("count operations", err)
}

func (r repo) documents(ctx context.Context, apiID string) ([]Document, error) {
	var out []Document
	err := r.st.DB(ctx).Where("api_id = ?", apiID).Order("position, id").Find(&out).Error
	return out, wrap("list documents", err)
}

func (r repo) document(ctx context.Context, apiID, id string) (Document, error) {
	var d Document
	err := r.st.DB(ctx).Where("api_id = ? AND id = ?", apiID, id).Take(&d).Error
	return d, notFound(err, ErrDocumentNotFound)
}

func (r repo) saveDocument(ctx context.Context, d *Document) error {
	return wrap("save document", r.st.DB(ctx).Save(d).Error)
}

func (r repo) createDocuments(ctx context.Context, ds []Document) error {
	if len(ds) == 0 {
		return nil
	}
	return wrap("create documents", r.st.DB(ctx).Create(&ds).Error)
}

func (r repo) deleteDocument(ctx context.Context, apiID, id string) error {
	res := r.st.DB(ctx).Where("api_id = ? AND id = ?", apiID, id).Delete(&Document{})
	if res.Error != nil {
		return wrap("delete document", res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrDocumentNotFound
	}
	return nil
}

// ensureTiers inserts the built-in tiers the organisation lacks; existing rows
// (perhaps edited) are left alone.
func (r repo) ensureTiers(ctx context.Context, ts []Tier) error {
	return wrap("create built-in tiers", r.st.DB(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&ts).Error)
}

func (r repo) tiers(ctx context.Context, orgID string) ([]Tier, error) {
	var out []Tier
	err := r.st.DB(ctx).Where("org_id = ?", orgID).Order("builtin DESC, requests = 0 DESC, requests DESC, name").Find(&out).Error
	return out, wrap("list tiers", err)
}

func (r repo) tier(ctx context.Context, orgID, id string) (Tier, error) {
	var t Tier
	err := r.st.DB(ctx).Where("org_id = ? AND id = ?", orgID, id).Take(&t).Error
	return t, notFound(err, ErrTierNotFound)
}

func (r repo) createTier(ctx context.Context, t *Tier) error {
	err := r.st.DB(ctx).Create(t).Error
	if store.IsUniqueViolation(err) {
		return ErrTierTaken
	}
	return wrap("create tier", err)
}

func (r repo) saveTier(ctx context.Context, t *Tier) error {
	err := r.st.DB(ctx).Save(t).Error
	if store.IsUniqueViolation(err) {
		return ErrTierTaken
	}
	return wrap("save tier", err)
}

func (r repo) deleteTier(ctx context.Context, orgID, id string) error {
	return wrap("delete tier", r.st.DB(ctx).Where("org_id = ? AND id = ?", orgID, id).Delete(&Tier{}).Error)
}

// apisUsingTier counts the organisation's APIs that offer the tier.
func (r repo) apisUsingTier(ctx context.Context, orgID, name string) (int64, error) {
	var n int64
	quoted := encodeJSON(name)
	err := r.st.DB(ctx).Model(&API{}).Where("org_id = ? AND tiers LIKE ? ESCAPE '\\'", orgID, "%"+strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(quoted)+"%").Count(&n).Error
	return n, wrap("count tier use", err)
}

func notFound(err error, nf error) error {
	if err == nil {
		return nil
	}
	if store.IsNotFound(err) {
		return nf
	}
	return fmt.Errorf("catalog: %w", err)
}

func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("catalog: %s: %w", what, err)
}

// gatewayRows reads the APIs in states, their operations and every tier, for
// the gateway's snapshot.
func (r repo) gatewayRows(ctx context.Context, states []State) ([]API, []Operation, []Tier, error) {
	var apis []API
	if err := r.st.DB(ctx).Where("state IN ?", states).Order("id").Find(&apis).Error; err != nil {
		return nil, nil, nil, wrap("read APIs", err)
	}
	var ops []Operation
	if err := r.st.DB(ctx).Where("api_id IN (SELECT id FROM apis WHERE state IN ?)", states).
		Order("api_id, position, id").Find(&ops).Error; err != nil {
		return nil, nil, nil, wrap("read operations", err)
	}
	var tiers []Tier
	if err := r.st.DB(ctx).Order("org_id, name").Find(&tiers).Error; err != nil {
		return nil, nil, nil, wrap("read tiers", err)
	}
	return apis, ops, tiers, nil
}
