package lexical

import (
	"errors"
	"fmt"
	"math"
)

// Default values of Options. K1 and B are Lucene's and Elasticsearch's
// BM25 defaults.
const (
	DefaultK1            = 1.2
	DefaultB             = 0.75
	DefaultTitleBoost    = 2.0
	DefaultFilenameBoost = 1.5
	DefaultHeadingBoost  = 1.5
)

// Options tune scoring. They are query-time settings: an index written with
// one set of Options can be reopened with another. The zero value of every
// field means its default.
type Options struct {
	// K1 is BM25's term-frequency saturation. The default is 1.2.
	K1 float64
	// B is BM25's length normalization, 0..1. The default is 0.75 (zero
	// means the default: for no length normalization use a tiny B such as
	// 1e-9).
	B float64
	// TitleBoost multiplies the BM25 score of query terms found in a
	// document's Title. The default is 2.
	TitleBoost float64
	// FilenameBoost multiplies the score of terms in the Filename. The
	// default is 1.5.
	FilenameBoost float64
	// HeadingBoost multiplies the score of terms in the heading path. The
	// default is 1.5.
	HeadingBoost float64
	// LuceneLengths rounds document lengths as Lucene 8 does (its one-byte
	// SmallFloat norm: exact up to 24 tokens, then about 3 significant
	// bits), to compare rankings with Lucene tie for tie. The default,
	// false, scores with exact lengths.
	LuceneLengths bool
}

func (o Options) withDefaults() Options {
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&o.K1, DefaultK1)
	def(&o.B, DefaultB)
	def(&o.TitleBoost, DefaultTitleBoost)
	def(&o.FilenameBoost, DefaultFilenameBoost)
	def(&o.HeadingBoost, DefaultHeadingBoost)
	return o
}

// Validate reports every problem in o at once; each error matches ErrInvalid.
func (o Options) Validate() error {
	var errs []error
	check := func(name string, v, lo, hi float64) {
		if math.IsNaN(v) || v < lo || v > hi {
			errs = append(errs, fmt.Errorf("%w: %s = %v, want %v..%v", ErrInvalid, name, v, lo, hi))
		}
	}
	check("K1", o.K1, 0, 100)
	check("B", o.B, 0, 1)
	check("TitleBoost", o.TitleBoost, 0, 1000)
	check("FilenameBoost", o.FilenameBoost, 0, 1000)
	check("HeadingBoost", o.HeadingBoost, 0, 1000)
	return errors.Join(errs...)
}
