package embed

import (
	"context"
	"math"

	"github.com/viterin/vek/vek32"
)

// USEStatic is a static embedding model distilled from USE-lite the way
// Model2Vec builds its models: every piece of the SentencePiece vocabulary
// is encoded alone by the transformer, the mean of those vectors is
// subtracted (it is shared by all of them and would dominate every cosine),
// and a text's vector is the SIF-weighted mean of its pieces' rows,
// L2-normalized. SIF weight a/(a+p) with a = 1e-3 and p the piece's unigram
// probability (exp of its SentencePiece score), so frequent pieces count
// little. Unknown pieces are left out; a text with no known piece maps to
// the zero vector. Unlike USELite it reads the whole text (no 128-token cut)
// and costs one table lookup per token. All-caps text is lower-cased first,
// as USELite does.
//
// A *USEStatic is safe for concurrent use.
type USEStatic struct {
	id      Identity
	tok     *sentencePiece
	rows    int
	vecs    []float32 // rows × 512
	weights []float32
}

// DistillUSELite distills u into a static model (8,000 one-token
// sequences, encoded in batches: seconds of CPU). Identity is {"use", "use-lite-static-<the
// first 12 hex digits of u's file checksum>", 512}. It fails only when ctx
// is done.
func DistillUSELite(ctx context.Context, u *USELite) (*USEStatic, error) {
	const dim = USELiteDimensions
	n := len(u.tok.scores)
	s := &USEStatic{
		id:      Identity{Provider: "use", Model: "use-lite-static-" + u.checksum[:12], Dimensions: dim},
		tok:     u.tok,
		rows:    n,
		vecs:    make([]float32, n*dim),
		weights: make([]float32, n),
	}
	var sc useScratch
	mean := make([]float32, dim)
	const batch = 256
	for lo := u.tok.reserve; lo < n; lo += batch {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ids := make([]int32, 0, batch)
		for id := lo; id < min(lo+batch, n); id++ {
			ids = append(ids, int32(id))
		}
		for k, v := range u.embedSingles(ids, &sc) {
			id := int(ids[k])
			copy(s.vecs[id*dim:], v)
			vek32.Add_Inplace(mean, v)
			const a = 1e-3
			s.weights[id] = float32(a / (a + math.Exp(u.tok.scores[id])))
		}
	}
	vek32.MulNumber_Inplace(mean, 1/float32(n-u.tok.reserve))
	for id := u.tok.reserve; id < n; id++ {
		vek32.Sub_Inplace(s.vecs[id*dim:(id+1)*dim], mean)
	}
	return s, nil
}

// Identity implements Embedder.
func (s *USEStatic) Identity() Identity { return s.id }

// Rows is the number of pieces in the table.
func (s *USEStatic) Rows() int { return s.rows }

// Embed implements Embedder. It fails only when ctx is done.
func (s *USEStatic) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	const dim = USELiteDimensions
	out := make([][]float32, len(texts))
	for i, t := range texts {
		if i%64 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		v := make([]float32, dim)
		for _, id := range s.tok.encode(foldShouting(t)) {
			if w := s.weights[id]; w > 0 {
				row := s.vecs[int(id)*dim : int(id+1)*dim]
				for j := range v {
					v[j] += w * row[j]
				}
			}
		}
		var ss float64
		for _, x := range v {
			ss += float64(x) * float64(x)
		}
		if ss > 0 {
			vek32.MulNumber_Inplace(v, float32(1/math.Sqrt(ss)))
		}
		out[i] = v
	}
	return out, nil
}
