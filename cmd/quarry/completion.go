package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
)

func init() {
	register(&command{
		name:    "completion",
		args:    "bash|zsh|fish",
		summary: "print a shell completion script",
		long: `Completes commands, their flags and file names. Load it from your shell's
start-up file.`,
		examples: []string{
			`source <(quarry completion bash)          # in ~/.bashrc`,
			`source <(quarry completion zsh)           # in ~/.zshrc`,
			`quarry completion fish > ~/.config/fish/completions/quarry.fish`,
		},
		setup: func(fs *flagSet) runFunc {
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) != 1 {
					return usagef(lookup(commands, "completion"), "name one shell: bash, zsh or fish")
				}
				switch args[0] {
				case "bash":
					return bashCompletion(e.stdout, false)
				case "zsh":
					return bashCompletion(e.stdout, true)
				case "fish":
					return fishCompletion(e.stdout)
				}
				return usagef(lookup(commands, "completion"), "unknown shell %q: bash, zsh or fish", args[0])
			}
		},
	})
}

// leaf is a runnable command with its flags, for completion.
type leaf struct {
	path  string // "bench ann"
	c     *command
	flags []string
	// valued lists the flags that take a value (the next word is theirs).
	valued []string
}

func leaves() []leaf {
	var out []leaf
	var walk func(cs []*command)
	walk = func(cs []*command) {
		for _, c := range cs {
			if len(c.subs) > 0 {
				walk(c.subs)
				continue
			}
			fs := newFlagSet(c.path())
			c.setup(fs)
			l := leaf{path: c.path(), c: c, flags: fs.names()}
			fs.VisitAll(func(f *flagDef) {
				if !isBoolFlag(f) {
					l.valued = append(l.valued, dashed(f.Name))
				}
			})
			out = append(out, l)
		}
	}
	walk(commands)
	return out
}

func topNames() []string {
	var names []string
	for _, c := range commands {
		names = append(names, c.name)
	}
	return append(names, "help")
}

// bashCompletion writes a bash completion function; zsh loads the same
// function through bashcompinit.
func bashCompletion(w io.Writer, zsh bool) error {
	var b strings.Builder
	if zsh {
		b.WriteString("#compdef quarry\n# zsh completion for quarry, through bashcompinit\nautoload -U +X bashcompinit && bashcompinit\n")
	} else {
		b.WriteString("# bash completion for quarry\n")
	}
	b.WriteString(`_quarry() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
    local cmd="" i w
    for ((i = 1; i < COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        case $w in -*) continue ;; esac
        if [[ -z $cmd ]]; then cmd=$w; else
            case "$cmd $w" in
`)
	var parents []string
	for _, c := range commands {
		if len(c.subs) > 0 {
			for _, s := range c.subs {
				parents = append(parents, "'"+c.name+" "+s.name+"'")
			}
		}
	}
	if len(parents) > 0 {
		fmt.Fprintf(&b, "                %s) cmd=\"$cmd $w\" ;;\n", strings.Join(parents, "|"))
	}
	b.WriteString(`            esac
            break
        fi
    done
    local words="" flags="" valued="" files=0
    case $cmd in
`)
	fmt.Fprintf(&b, "        '') words=%q; flags='--help --version' ;;\n", strings.Join(topNames(), " "))
	fmt.Fprintf(&b, "        help) words=%q ;;\n", strings.Join(topNames()[:len(topNames())-1], " "))
	for _, c := range commands {
		if len(c.subs) > 0 {
			var names []string
			for _, s := range c.subs {
				names = append(names, s.name)
			}
			fmt.Fprintf(&b, "        %s) words=%q; flags='--help' ;;\n", c.name, strings.Join(names, " "))
		}
	}
	for _, l := range leaves() {
		files := 0
		if l.c.fileArgs {
			files = 1
		}
		if l.c.name == "completion" {
			fmt.Fprintf(&b, "        completion) words='bash zsh fish'; flags='--help' ;;\n")
			continue
		}
		fmt.Fprintf(&b, "        '%s') flags=%q; valued=%q; files=%d ;;\n", l.path, strings.Join(l.flags, " "), strings.Join(l.valued, " "), files)
	}
	b.WriteString(`    esac
    if [[ " $valued " == *" $prev "* ]]; then
        COMPREPLY=($(compgen -f -- "$cur"))
        return
    fi
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$flags" -- "$cur"))
    elif [[ -n $words ]]; then
        COMPREPLY=($(compgen -W "$words" -- "$cur"))
    elif ((files)); then
        COMPREPLY=($(compgen -f -- "$cur"))
    else
        COMPREPLY=()
    fi
}
complete -o default -F _quarry quarry
`)
	_, err := io.WriteString(w, b.String())
	return err
}

func fishCompletion(w io.Writer) error {
	var b strings.Builder
	b.WriteString("# fish completion for quarry\ncomplete -c quarry -f\n")
	top := topNames()
	fmt.Fprintf(&b, "complete -c quarry -n 'not __fish_seen_subcommand_from %s' -s h -l help -d 'show help'\n", strings.Join(top, " "))
	fmt.Fprintf(&b, "complete -c quarry -n 'not __fish_seen_subcommand_from %s' -s V -l version -d 'print the version'\n", strings.Join(top, " "))
	for _, c := range commands {
		fmt.Fprintf(&b, "complete -c quarry -n 'not __fish_seen_subcommand_from %s' -a %s -d %s\n", strings.Join(top, " "), c.name, fishQuote(c.summary))
		for _, s := range c.subs {
			fmt.Fprintf(&b, "complete -c quarry -n '__fish_seen_subcommand_from %s; and not __fish_seen_subcommand_from %s' -a %s -d %s\n",
				c.name, subNames(c), s.name, fishQuote(s.summary))
		}
	}
	fmt.Fprintf(&b, "complete -c quarry -n '__fish_seen_subcommand_from completion' -a 'bash zsh fish'\n")
	for _, l := range leaves() {
		cond := "__fish_seen_subcommand_from " + l.c.name
		if l.c.parent != nil {
			cond = "__fish_seen_subcommand_from " + l.c.parent.name + "; and __fish_seen_subcommand_from " + l.c.name
		}
		if l.c.fileArgs {
			fmt.Fprintf(&b, "complete -c quarry -n '%s' -F\n", cond)
		}
		fs := newFlagSet(l.path)
		l.c.setup(fs)
		fs.VisitAll(func(f *flagDef) {
			if fs.isAlias[f.Name] {
				return
			}
			_, usage := unquoteUsage(f)
			opt := "-l " + f.Name
			if len(f.Name) == 1 {
				opt = "-s " + f.Name
			}
			line := fmt.Sprintf("complete -c quarry -n '%s' %s", cond, opt)
			if s := fs.shorts[f.Name]; s != "" {
				line += " -s " + s
			}
			if !isBoolFlag(f) {
				line += " -r -F"
			}
			b.WriteString(line + " -d " + fishQuote(usage) + "\n")
		})
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func subNames(c *command) string {
	var names []string
	for _, s := range c.subs {
		names = append(names, s.name)
	}
	slices.Sort(names)
	return strings.Join(names, " ")
}

func fishQuote(s string) string {
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", `\'`) + "'"
}
