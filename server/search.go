package server

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/quarrylabs/quarry/filter"
	"github.com/quarrylabs/quarry/store"
)

// searchBody is the request of POST /v1/vector_stores/{id}/search.
type searchBody struct {
	Query          json.RawMessage       `json:"query"` // string or array of strings
	RewriteQuery   bool                  `json:"rewrite_query"`
	MaxNumResults  *int                  `json:"max_num_results"`
	Filters        *filter.Filter        `json:"filters"`
	RankingOptions *store.RankingOptions `json:"ranking_options"`
}

func (b *searchBody) request() (store.SearchRequest, error) {
	var req store.SearchRequest
	q := bytes.TrimSpace(b.Query)
	switch {
	case len(q) == 0 || bytes.Equal(q, []byte("null")):
		return req, invalid("query", "missing required parameter: 'query'")
	case q[0] == '"':
		var s string
		if err := json.Unmarshal(q, &s); err != nil {
			return req, invalid("query", "invalid 'query': %v", err)
		}
		req.Query = []string{s}
	default:
		if err := json.Unmarshal(q, &req.Query); err != nil {
			return req, invalid("query", "invalid 'query': expected a string or an array of strings")
		}
	}
	total := 0
	for _, q := range req.Query {
		total += len(q)
	}
	if total > MaxQueryBytes {
		return req, invalid("query", "invalid 'query': %d bytes, more than the limit of %d", total, MaxQueryBytes)
	}
	if n := b.MaxNumResults; n != nil {
		if *n < 1 || *n > 50 {
			return req, invalid("max_num_results", "invalid 'max_num_results': must be between 1 and 50, got %d", *n)
		}
		req.MaxResults = *n
	}
	req.CountFiles = true // max_num_results counts files (see the package doc)
	req.RewriteQuery = b.RewriteQuery
	req.Filter = b.Filters
	if b.RankingOptions != nil {
		req.Ranking = *b.RankingOptions
	}
	if req.Filter != nil {
		if err := req.Filter.Validate(); err != nil {
			return req, invalid("filters", "invalid 'filters': %v", err)
		}
	}
	return req, req.Validate()
}

func (s *server) search(w http.ResponseWriter, r *http.Request) {
	vs, err := s.vectorStore(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var b searchBody
	if err := decodeJSON(w, r, &b); err != nil {
		s.fail(w, r, err)
		return
	}
	req, err := b.request()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	res, err := vs.Search(r.Context(), req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page(res))
}

// searchPageJSON is OpenAI's vector_store.search_results.page.
type searchPageJSON struct {
	Object      string               `json:"object"` // "vector_store.search_results.page"
	SearchQuery []string             `json:"search_query"`
	Data        []store.SearchResult `json:"data"`
	HasMore     bool                 `json:"has_more"`
	NextPage    *string              `json:"next_page"`
}

// page turns store's results into OpenAI's page. The page is the whole
// answer: has_more is false and next_page null.
func page(res *store.SearchResults) *searchPageJSON {
	return &searchPageJSON{Object: "vector_store.search_results.page", SearchQuery: res.SearchQuery, Data: res.Data}
}
