package parse

import (
	"errors"
	"fmt"
)

// Code classifies a parse failure with the last_error codes of the OpenAI API.
type Code string

const (
	CodeUnsupported Code = "unsupported_file"
	CodeInvalid     Code = "invalid_file"
)

var (
	// ErrUnsupported matches any *Error with CodeUnsupported.
	ErrUnsupported = errors.New("parse: unsupported file")
	// ErrInvalid matches any *Error with CodeInvalid.
	ErrInvalid = errors.New("parse: invalid file")
)

// Error is a failure to parse one file.
type Error struct {
	Code Code
	Name string // the file name given to Parse
	Msg  string // what is wrong, for a person
	Err  error  // the underlying cause, if any
}

func (e *Error) Error() string {
	s := fmt.Sprintf("parse %s: %s: %s", e.Name, e.Code, e.Msg)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is the sentinel for e's code.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrUnsupported:
		return e.Code == CodeUnsupported
	case ErrInvalid:
		return e.Code == CodeInvalid
	}
	return false
}

func unsupported(name, format string, a ...any) error {
	return &Error{Code: CodeUnsupported, Name: name, Msg: fmt.Sprintf(format, a...)}
}

func invalid(name string, err error, format string, a ...any) error {
	return &Error{Code: CodeInvalid, Name: name, Msg: fmt.Sprintf(format, a...), Err: err}
}
