package embed

import "math"

// normalize scales v to unit L2 norm in place and reports whether it could
// (false for a zero or non-finite vector). With sublinear set, each
// component x first becomes sign(x)·log(1+|x|).
func normalize(v []float32, sublinear bool) bool {
	var norm float64
	for i, x := range v {
		if sublinear && x != 0 {
			s := float32(math.Log1p(math.Abs(float64(x))))
			if x < 0 {
				s = -s
			}
			v[i], x = s, s
		}
		norm += float64(x) * float64(x)
	}
	if norm == 0 || math.IsNaN(norm) || math.IsInf(norm, 0) {
		return false
	}
	inv := 1 / math.Sqrt(norm)
	for i := range v {
		v[i] = float32(float64(v[i]) * inv)
	}
	return true
}
