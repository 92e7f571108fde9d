// Command quarry indexes folders of documents and searches them, on local
// disk, with the embedded defaults (no server, no API key).
//
//	quarry index PATH...             index files and folders; changed files are re-indexed
//	quarry search [--dir DIR] QUERY  search (indexing DIR first when given)
//	quarry show FILE|FILE_ID         print the text the engine indexed, with pages and headings
//	quarry ls                        list the files of a vector store (--stores: the stores)
//	quarry rm PATH|FILE_ID...        remove files from a vector store
//	quarry serve                     serve the OpenAI-compatible API (also /v1/responses, /mcp, /metrics)
//	quarry mcp                       serve the store to an MCP client over stdio
//	quarry bench ann|ir|search ...   run the benchmark harness
//	quarry completion bash|zsh|fish  print a completion script
//
// 'quarry help' and 'quarry COMMAND --help' show each command's flags and
// examples. Exit status: 0 success, 1 no results (search), 2 usage or
// runtime error, 130 and 143 when interrupted by SIGINT and SIGTERM.
// Commands live in one file each and register themselves (see command).
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"golang.org/x/term"
)

func main() {
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		first := <-sigs
		cancel(&signalError{sig: first})
		// A second signal forces the exit, skipping the clean shutdown.
		second := <-sigs
		fmt.Fprintf(os.Stderr, "quarry: %s again: exiting now\n", sigName(second))
		os.Exit(signalExit(second))
	}()
	e := &env{stdout: os.Stdout, stderr: os.Stderr, tty: isatty(os.Stderr),
		color: isatty(os.Stdout) && os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb"}
	err := run(ctx, os.Args[1:], e)
	os.Exit(report(e, err, context.Cause(ctx)))
}

// report prints err once, on one line, and returns the exit status.
func report(e *env, err, cause error) int {
	var sig *signalError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errNoResults):
		return exitNoResults
	case errors.As(cause, &sig) && (errors.Is(err, context.Canceled) || errors.As(err, new(*signalError))):
		var own *signalError
		if errors.As(err, &own) {
			sig = own
		}
		fmt.Fprintf(e.stderr, "quarry: interrupted by %s%s\n", sigName(sig.sig), sig.detail)
		return signalExit(sig.sig)
	}
	msg := strings.ReplaceAll(err.Error(), "\n", "; ")
	fmt.Fprintln(e.stderr, "quarry:", msg)
	return exitError
}

// signalError is the cause of the context a signal cancelled; a command may
// return one with detail ("; 120 files added, run again to resume").
type signalError struct {
	sig    os.Signal
	detail string
}

func (s *signalError) Error() string { return "interrupted by " + sigName(s.sig) + s.detail }

func sigName(s os.Signal) string {
	if s == syscall.SIGTERM {
		return "SIGTERM"
	}
	return "SIGINT"
}

func signalExit(s os.Signal) int {
	if s == syscall.SIGTERM {
		return exitSIGTERM
	}
	return exitSIGINT
}

func isatty(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }
