package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// versionString is the module version and, when the binary was built from
// a checkout with VCS stamping, the revision, its date and whether the tree
// was modified: "quarry v1.2.0 (rev 3f2a1bc, 2026-12-03, modified; go1.26)".
func versionString() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "quarry (unknown version; " + runtime.Version() + ")"
	}
	return formatVersion(bi)
}

func formatVersion(bi *debug.BuildInfo) string {
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var rev, when string
	modified := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			when, _, _ = strings.Cut(s.Value, "T")
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	var details []string
	if rev != "" {
		details = append(details, "rev "+rev[:min(len(rev), 12)])
	}
	if when != "" {
		details = append(details, when)
	}
	if modified {
		details = append(details, "modified")
	}
	goVersion := bi.GoVersion
	if goVersion == "" {
		goVersion = runtime.Version()
	}
	if len(details) == 0 {
		return fmt.Sprintf("quarry %s (%s)", v, goVersion)
	}
	return fmt.Sprintf("quarry %s (%s; %s)", v, strings.Join(details, ", "), goVersion)
}
