package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
)

// A command is one subcommand of quarry. Adding a command is one call to
// register from an init function in the command's own file:
//
//	func init() {
//		register(&command{
//			name: "mcp", args: "[flags]", summary: "serve the MCP protocol on stdio",
//			examples: []string{"quarry mcp --store ~/kb"},
//			setup: func(fs *flagSet) runFunc { ...; return func(ctx context.Context, e *env, args []string) error { ... } },
//		})
//	}
//
// Help, flag errors, exit codes and shell completion come from the table.
type command struct {
	name     string   // as typed: "index"
	args     string   // the usage line's arguments: "[flags] PATH..."
	summary  string   // one line for 'quarry help'
	long     string   // optional paragraphs shown by 'quarry CMD --help'
	examples []string // shown by 'quarry CMD --help'
	// setup registers the command's flags and returns the function that runs
	// it with the positional arguments. It is called once per invocation,
	// and also (without running) to render help and completion.
	setup func(fs *flagSet) runFunc
	// subs are subcommands ("bench ann"); a command with subs has no setup.
	subs   []*command
	parent *command
	// fileArgs makes completion offer file names for positional arguments.
	fileArgs bool
}

type runFunc func(ctx context.Context, e *env, args []string) error

// env is what a running command writes to.
type env struct {
	stdout, stderr io.Writer
	// color is set when stdout is a terminal and NO_COLOR is unset.
	color bool
	// tty is set when stderr is a terminal (progress display).
	tty bool
}

var commands []*command

// register adds a top-level command; commands are listed in name order.
func register(c *command) {
	for _, s := range c.subs {
		s.parent = c
	}
	commands = append(commands, c)
	slices.SortFunc(commands, func(a, b *command) int { return strings.Compare(a.name, b.name) })
}

func lookup(cmds []*command, name string) *command {
	for _, c := range cmds {
		if c.name == name {
			return c
		}
	}
	return nil
}

// path is the command's full name: "bench ann".
func (c *command) path() string {
	if c.parent != nil {
		return c.parent.path() + " " + c.name
	}
	return c.name
}

// Exit codes, as grep, ripgrep and fd use them.
const (
	exitOK        = 0
	exitNoResults = 1
	exitError     = 2
	exitSIGINT    = 130
	exitSIGTERM   = 143
)

// errNoResults makes quarry exit 1 without a message, as grep does.
var errNoResults = errors.New("no results")

// usageError is a mistake in the command line: exit 2 with one line
// pointing at the help.
type usageError struct {
	cmd string // "index", or "" for quarry itself
	msg string
}

func (e *usageError) Error() string {
	help := "quarry --help"
	if e.cmd != "" {
		help = "quarry " + e.cmd + " --help"
	}
	return fmt.Sprintf("%s (see '%s')", e.msg, help)
}

func usagef(c *command, format string, args ...any) error {
	name := ""
	if c != nil {
		name = c.path()
	}
	return &usageError{cmd: name, msg: fmt.Sprintf(format, args...)}
}

// flagSet is a flag.FlagSet with short aliases ("-v" for "--verbose") and
// help rendered once per flag, defaults stated once.
type flagSet struct {
	*flag.FlagSet
	shorts  map[string]string // long name -> short name
	isAlias map[string]bool
}

func newFlagSet(name string) *flagSet {
	fs := &flagSet{FlagSet: flag.NewFlagSet(name, flag.ContinueOnError), shorts: map[string]string{}, isAlias: map[string]bool{}}
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// alias makes -short another name of the already defined --long.
func (fs *flagSet) alias(short, long string) {
	fs.Var(fs.Lookup(long).Value, short, "")
	fs.shorts[long] = short
	fs.isAlias[short] = true
}

// given reports whether the flag long (or its short alias) was on the
// command line, as opposed to holding its default or its environment
// variable's value.
func (fs *flagSet) given(long string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) {
		set = set || f.Name == long || (fs.shorts[long] != "" && f.Name == fs.shorts[long])
	})
	return set
}

// dashed is a flag as written: "-n" for one letter, else "--name".
func dashed(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// flags lists the flag names as completion offers them: "--store", "-v", ...
func (fs *flagSet) names() []string {
	var out []string
	fs.VisitAll(func(f *flag.Flag) {
		out = append(out, dashed(f.Name))
	})
	return append(out, "--help")
}

func (fs *flagSet) printDefaults(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fs.VisitAll(func(f *flag.Flag) {
		if fs.isAlias[f.Name] {
			return
		}
		arg, usage := flag.UnquoteUsage(f)
		if arg != "" {
			arg = " " + arg
		}
		names := "    " + dashed(f.Name)
		if s := fs.shorts[f.Name]; s != "" {
			names = "-" + s + ", --" + f.Name
		}
		if def := f.DefValue; def != "" && def != "0" && def != "false" && def != "-1" && !strings.Contains(usage, "default") {
			usage += fmt.Sprintf(" (default %s)", def)
		}
		fmt.Fprintf(tw, "  %s%s\t%s\n", names, arg, usage)
	})
	fmt.Fprintf(tw, "  -h, --help\tshow this help\n")
	tw.Flush()
}

// help writes a command's help: the usage line, what it does, its flags
// and examples.
func (c *command) help(w io.Writer) {
	if len(c.subs) > 0 {
		fmt.Fprintf(w, "Usage: quarry %s COMMAND [flags]\n\n%s\n\nCommands:\n", c.path(), c.summary)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, s := range c.subs {
			fmt.Fprintf(tw, "  %s\t%s\n", s.name, s.summary)
		}
		tw.Flush()
		fmt.Fprintf(w, "\nRun 'quarry %s COMMAND --help' for a command's flags.\n", c.path())
		return
	}
	fmt.Fprintf(w, "Usage: quarry %s %s\n\n%s\n", c.path(), c.args, c.summary)
	if c.long != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(c.long))
	}
	fs := newFlagSet(c.path())
	c.setup(fs)
	fmt.Fprintf(w, "\nFlags:\n")
	fs.printDefaults(w)
	if len(c.examples) > 0 {
		fmt.Fprintf(w, "\nExamples:\n")
		for _, ex := range c.examples {
			fmt.Fprintf(w, "  %s\n", ex)
		}
	}
}

func mainHelp(w io.Writer) {
	fmt.Fprint(w, `quarry: local retrieval over your files (search, index, serve an OpenAI-compatible API)

Usage: quarry COMMAND [flags] [args]

Commands:
`)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, c := range commands {
		fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.summary)
	}
	fmt.Fprintf(tw, "  help\tshow help for quarry or a command\n")
	tw.Flush()
	fmt.Fprint(w, `
Flags:
  -h, --help     show this help
  -V, --version  print the version and exit

Environment: QUARRY_STORE (store folder), QUARRY_EMBEDDER, QUARRY_DIMENSIONS,
QUARRY_API_KEY, NO_COLOR. Exit status: 0 success, 1 no results, 2 error,
130/143 interrupted by SIGINT/SIGTERM.

Examples:
  quarry index ~/notes
  quarry search "incident severity levels"
  quarry index --help

Run 'quarry COMMAND --help' for a command's flags and examples.
`)
}

// run parses args and runs the command they name.
func run(ctx context.Context, args []string, e *env) error {
	if len(args) == 0 {
		mainHelp(e.stdout)
		return nil
	}
	switch args[0] {
	case "-h", "--help", "-help":
		mainHelp(e.stdout)
		return nil
	case "-V", "--version", "-version":
		fmt.Fprintln(e.stdout, versionString())
		return nil
	case "help":
		if len(args) == 1 {
			mainHelp(e.stdout)
			return nil
		}
		c := lookup(commands, args[1])
		if c == nil {
			return usagef(nil, "unknown command %q", args[1])
		}
		if len(args) > 2 && len(c.subs) > 0 {
			if s := lookup(c.subs, args[2]); s != nil {
				c = s
			}
		}
		c.help(e.stdout)
		return nil
	}
	if strings.HasPrefix(args[0], "-") {
		return usagef(nil, "unknown flag %s before the command", args[0])
	}
	c := lookup(commands, args[0])
	if c == nil {
		return usagef(nil, "unknown command %q", args[0])
	}
	args = args[1:]
	for len(c.subs) > 0 {
		if len(args) == 0 || isHelp(args[0]) {
			c.help(e.stdout)
			return nil
		}
		s := lookup(c.subs, args[0])
		if s == nil {
			return usagef(c, "unknown %s command %q", c.path(), args[0])
		}
		c, args = s, args[1:]
	}
	fs := newFlagSet(c.path())
	runner := c.setup(fs)
	pos, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		c.help(e.stdout)
		return nil
	}
	if err != nil {
		return usagef(c, "%s", flagError(err))
	}
	return runner(ctx, e, pos)
}

func isHelp(a string) bool { return a == "-h" || a == "--help" || a == "-help" }

// flagError turns the flag package's messages into quarry's: long flags
// written with two dashes.
func flagError(err error) string {
	msg := err.Error()
	if rest, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		if len(rest) > 1 {
			return "unknown flag --" + rest
		}
		return "unknown flag -" + rest
	}
	if rest, ok := strings.CutPrefix(msg, "flag needs an argument: -"); ok {
		if len(rest) > 1 {
			return "flag --" + rest + " needs a value"
		}
		return "flag -" + rest + " needs a value"
	}
	return strings.Replace(msg, " for flag -", " for flag --", 1)
}

// parseInterspersed parses flags wherever they stand among the arguments
// and returns the positional ones; "--" ends the flags.
func parseInterspersed(fs *flagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		// flag stops at the first positional argument, or consumes "--"
		// and stops after it.
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

type flagDef = flag.Flag

func unquoteUsage(f *flag.Flag) (string, string) { return flag.UnquoteUsage(f) }

func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}
