package chunk

import (
	"errors"
	"fmt"
)

// StrategyType names a chunking strategy.
type StrategyType string

const (
	Auto   StrategyType = "auto"   // structure-aware boundaries, 800/400 budget
	Static StrategyType = "static" // fixed token windows, as OpenAI's static strategy
)

// Default budgets and limits, as OpenAI's.
const (
	DefaultMaxTokens     = 800
	DefaultOverlapTokens = 400
	MinMaxTokens         = 100
	MaxMaxTokens         = 4096
)

// Strategy is a chunking strategy. The zero value is Auto with the defaults.
// It marshals to OpenAI's JSON shape for chunking_strategy.
type Strategy struct {
	Type          StrategyType `json:"type"`
	MaxTokens     int          `json:"max_chunk_size_tokens,omitempty"`
	OverlapTokens int          `json:"chunk_overlap_tokens,omitempty"`
}

// Normalize fills in defaults: an empty Type is Auto; Auto always uses
// 800/400, as OpenAI's auto does.
func (s Strategy) Normalize() Strategy {
	if s.Type == "" {
		s.Type = Auto
	}
	if s.Type == Auto {
		s.MaxTokens, s.OverlapTokens = DefaultMaxTokens, DefaultOverlapTokens
	}
	return s
}

// Validate reports every problem with s, each wrapped in
// ErrInvalidStrategy. Auto takes no parameters, so any values are ignored;
// Static needs max_chunk_size_tokens in [100, 4096] and
// chunk_overlap_tokens in [0, max_chunk_size_tokens/2], OpenAI's limits.
func (s Strategy) Validate() error {
	switch s.Type {
	case "", Auto:
		return nil
	case Static:
	default:
		return fmt.Errorf("%w: invalid value for 'chunking_strategy.type': expected 'auto' or 'static', got %q",
			ErrInvalidStrategy, s.Type)
	}
	var errs []error
	if s.MaxTokens < MinMaxTokens || s.MaxTokens > MaxMaxTokens {
		errs = append(errs, fmt.Errorf("%w: invalid 'chunking_strategy.static.max_chunk_size_tokens': the minimum value is %d and the maximum value is %d, got %d",
			ErrInvalidStrategy, MinMaxTokens, MaxMaxTokens, s.MaxTokens))
	}
	if s.OverlapTokens < 0 {
		errs = append(errs, fmt.Errorf("%w: invalid 'chunking_strategy.static.chunk_overlap_tokens': must be non-negative, got %d",
			ErrInvalidStrategy, s.OverlapTokens))
	} else if s.OverlapTokens > s.MaxTokens/2 {
		errs = append(errs, fmt.Errorf("%w: invalid 'chunking_strategy.static.chunk_overlap_tokens': the overlap must not exceed half of max_chunk_size_tokens (%d), got %d",
			ErrInvalidStrategy, s.MaxTokens/2, s.OverlapTokens))
	}
	return errors.Join(errs...)
}
