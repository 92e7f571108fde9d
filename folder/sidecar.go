package folder

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// sidecar is one parsed .quarry.json.
type sidecar struct {
	Attributes map[string]any            `json:"attributes"`
	Files      map[string]map[string]any `json:"files"`
}

// sidecars reads and caches the .quarry.json files from root down.
type sidecars struct {
	root  string
	cache map[string]*sidecar // by folder; nil entry: none
	errs  []Skip
}

func newSidecars(root string) *sidecars {
	return &sidecars{root: root, cache: map[string]*sidecar{}}
}

func (s *sidecars) load(dir string) *sidecar {
	if sc, ok := s.cache[dir]; ok {
		return sc
	}
	var sc *sidecar
	path := filepath.Join(dir, SidecarName)
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		s.errs = append(s.errs, Skip{path, err.Error()})
	default:
		sc = new(sidecar)
		if err := json.Unmarshal(b, sc); err != nil {
			s.errs = append(s.errs, Skip{path, fmt.Sprintf("sidecar ignored: %v", err)})
			sc = nil
		}
	}
	s.cache[dir] = sc
	return sc
}

// attrs returns the sidecar attributes of the file at path: every folder's
// "attributes" from the root down, then the file's own "files" entry.
func (s *sidecars) attrs(path string) map[string]any {
	dir := filepath.Dir(path)
	rel, err := filepath.Rel(s.root, dir)
	if err != nil || strings.HasPrefix(rel, "..") {
		rel = "."
		dir = s.root
	}
	var out map[string]any
	cur := s.root
	parts := []string{}
	if rel != "." {
		parts = strings.Split(rel, string(filepath.Separator))
	}
	for i := 0; ; i++ {
		if sc := s.load(cur); sc != nil {
			out = merge(out, sc.Attributes)
			if cur == dir {
				out = merge(out, sc.Files[filepath.Base(path)])
			}
		}
		if i == len(parts) {
			return out
		}
		cur = filepath.Join(cur, parts[i])
	}
}

// frontMatter returns the scalar "key: value" lines of a YAML front matter
// block at the start of head ("---" lines around it).
func frontMatter(head []byte) map[string]any {
	head = bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	if !bytes.HasPrefix(head, []byte("---\n")) && !bytes.HasPrefix(head, []byte("---\r\n")) {
		return nil
	}
	sc := bufio.NewScanner(bytes.NewReader(head))
	sc.Scan() // the opening ---
	out := map[string]any{}
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if line == "---" || line == "..." {
			if len(out) == 0 {
				return nil
			}
			return out
		}
		if line == "" || line[0] == ' ' || line[0] == '\t' || line[0] == '#' || line[0] == '-' {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" || strings.ContainsAny(k, " \"'") || v == "" || strings.ContainsAny(v[:1], "[{|>&*!") {
			continue
		}
		if i := strings.Index(v, " #"); i >= 0 && v[0] != '"' && v[0] != '\'' {
			v = strings.TrimSpace(v[:i])
		}
		out[k] = ParseValue(v)
	}
	return nil // no closing line within the head: not front matter
}

// ParseValue reads an attribute value as the command line and front matter
// write it: true and false are booleans, numbers are numbers, a quoted
// string is unquoted, anything else is a string.
func ParseValue(v string) any {
	switch v {
	case "true":
		return true
	case "false":
		return false
	}
	if len(v) >= 2 && (v[0] == '"' && v[len(v)-1] == '"' || v[0] == '\'' && v[len(v)-1] == '\'') {
		if v[0] == '"' {
			if s, err := strconv.Unquote(v); err == nil {
				return s
			}
		}
		return v[1 : len(v)-1]
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil && !strings.ContainsAny(v, "xXpP_") {
		return f
	}
	return v
}
