package portal

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"portico/internal/account"
	"portico/internal/catalog"
	"portico/internal/platform/apperr"
	"portico/internal/platform/httpx"
	"portico/internal/platform/render"
)

// Catalogue paging.
const (
	cataloguePageSize = 20
	// maxScanRounds bounds how many batches one page may read when private APIs
	// or a tag filter are skipped after the query.
	maxScanRounds = 10
	maxQueryLen   = 200
)

type apiCard struct {
	ID, Name, Version, Context, Description string
	State                                   string
	Tags                                    []string
	Default                                 bool
}

type tagCount struct {
	Name  string
	Count int
}

type catalogueView struct {
	render.Base
	Q, Tag     string
	APIs       []apiCard
	Tags       []tagCount
	NextURL    string
	FirstURL   string
	Paged      bool
	SignedIn   bool
	PortalPath string
}

func (w *Web) catalogue(c echo.Context, org account.Organization) error {
	q := strings.TrimSpace(c.QueryParam("q"))
	if len(q) > maxQueryLen {
		q = q[:maxQueryLen]
	}
	tag := strings.TrimSpace(c.QueryParam("tag"))
	if len(tag) > catalog.MaxTagLen {
		return apperr.Invalid("tag", "invalid_tag", "That is not a tag of this catalogue.")
	}
	page, err := httpx.ParsePage(c)
	if err != nil {
		return err
	}
	if c.QueryParam("limit") == "" {
		page.Limit = cataloguePageSize
	}
	who, isMember := viewer(c, org)
	apis, next, err := w.listVisible(ctxOf(c), who, isMember, q, tag, page)
	if err != nil {
		return err
	}
	base, err := w.base(c, "portal", org.Name+" APIs", org)
	if err != nil {
		return err
	}
	path := "/portal/" + org.Slug
	v := catalogueView{Base: base, Q: q, Tag: tag, SignedIn: base.User != nil, PortalPath: path, Paged: page.After != ""}
	counts := map[string]int{}
	for _, a := range apis {
		card := apiCard{ID: a.ID, Name: a.Name, Version: a.Version, Context: a.Context, Description: clip(w.md.PlainText(a.Description), 240),
			State: string(a.State), Tags: a.TagList(), Default: a.DefaultVersion}
		for _, t := range card.Tags {
			counts[t]++
		}
		v.APIs = append(v.APIs, card)
	}
	for t, n := range counts {
		v.Tags = append(v.Tags, tagCount{t, n})
	}
	sort.Slice(v.Tags, func(i, j int) bool {
		if v.Tags[i].Count != v.Tags[j].Count {
			return v.Tags[i].Count > v.Tags[j].Count
		}
		return v.Tags[i].Name < v.Tags[j].Name
	})
	if len(v.Tags) > 30 {
		v.Tags = v.Tags[:30]
	}
	query := url.Values{}
	if q != "" {
		query.Set("q", q)
	}
	if tag != "" {
		query.Set("tag", tag)
	}
	if c.QueryParam("limit") != "" {
		query.Set("limit", strconv.Itoa(page.Limit))
	}
	v.FirstURL = path
	if len(query) > 0 {
		v.FirstURL += "?" + query.Encode()
	}
	if next != "" {
		query.Set("cursor", next)
		v.NextURL = path + "?" + query.Encode()
	}
	return w.r.Page(c.Response(), http.StatusOK, pageCatalogue, v)
}

// listVisible returns one page of the APIs who may see, matching q and tag,
// newest first, and the cursor of the next page ("" on the last). The catalog
// query does the searching; private APIs (for visitors from outside the
// organisation) and other tags are skipped here, reading further batches until
// the page is full, so a page never comes out short while more APIs match.
func (w *Web) listVisible(ctx context.Context, who account.Principal, isMember bool, q, tag string, page httpx.Page) ([]catalog.API, string, error) {
	want := page.Limit + 1
	term := q
	if term == "" {
		term = tag // narrows the query to APIs mentioning the tag; exact match below
	}
	filtered := tag != "" || !isMember
	batch := want
	if filtered {
		batch = min(4*want, httpx.MaxPageSize)
	}
	keep := func(a catalog.API) bool {
		if !isMember && a.Visibility != "public" {
			return false
		}
		if tag == "" {
			return true
		}
		for _, t := range a.TagList() {
			if strings.EqualFold(t, tag) {
				return true
			}
		}
		return false
	}
	var out []catalog.API
	after, exhausted := page.After, false
	for round := 0; round < maxScanRounds && len(out) < want && !exhausted; round++ {
		got, err := w.catalog.ListAPIs(ctx, who, catalog.ListQuery{Q: term, After: after, Limit: batch})
		if err != nil {
			return nil, "", err
		}
		for _, a := range got {
			if keep(a) {
				out = append(out, a)
				if len(out) == want {
					break
				}
			}
		}
		exhausted = len(got) < batch
		if len(got) > 0 {
			after = got[len(got)-1].ID
		}
	}
	list := httpx.NewList(page, out, func(a catalog.API) string { return a.ID })
	if list.NextCursor == "" && len(out) < want && !exhausted && after != "" {
		// The scan stopped early: the next page carries on where it stopped.
		list.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(after))
	}
	return list.Items, list.NextCursor, nil
}

// clip shortens s to at most n bytes on a word boundary, with an ellipsis.
func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= n {
		return s
	}
	cut := strings.LastIndexByte(s[:n], ' ')
	if cut < n/2 {
		cut = n
	}
	for cut > 0 && !utf8Start(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }
