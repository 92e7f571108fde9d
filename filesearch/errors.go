package filesearch

import "errors"

var (
	// ErrArguments matches every *ArgumentsError.
	ErrArguments = errors.New("filesearch: invalid arguments")
	// ErrConfig is returned by New for an unusable Config.
	ErrConfig = errors.New("filesearch: invalid config")
)

// ArgumentsError is a tool call whose arguments cannot be used. Its
// message is written for the model: send it back as the tool's result.
type ArgumentsError struct {
	Msg string
}

func (e *ArgumentsError) Error() string { return "invalid file_search arguments: " + e.Msg }

// Is reports whether target is ErrArguments.
func (e *ArgumentsError) Is(target error) bool { return target == ErrArguments }
