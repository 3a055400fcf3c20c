package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// scan lists the policy files to load, in application order, and returns a
// signature of their paths, sizes and modification times (plus the absence
// of a configured policy file), which changes whenever one of them does.
func (e *Enforcer) scan() (files []string, sig string) {
	var b strings.Builder
	stamp := func(path string, fi os.FileInfo) {
		b.WriteString(path)
		b.WriteByte('|')
		b.WriteString(strconv.FormatInt(fi.Size(), 10))
		b.WriteByte('|')
		b.WriteString(strconv.FormatInt(fi.ModTime().UnixNano(), 10))
		b.WriteByte('\n')
	}
	if e.opts.PolicyFile != "" {
		if p, fi, ok := e.resolve(e.opts.PolicyFile, false); ok {
			files = append(files, p)
			stamp(p, fi)
		} else {
			b.WriteString("missing policy file\n")
		}
	}
	for _, d := range e.opts.PolicyDirs {
		dir, _, ok := e.resolve(d, true)
		if !ok {
			continue
		}
		b.WriteString("dir " + dir + "\n")
		entries, err := os.ReadDir(dir) // sorted by name
		if err != nil {
			e.warnOnce("readdir:"+dir, "cannot list policy directory", "dir", dir, "error", err)
			continue
		}
		for _, ent := range entries {
			name := ent.Name()
			if strings.HasPrefix(name, ".") || !isPolicyFileName(name) {
				continue
			}
			p := filepath.Join(dir, name)
			fi, err := os.Stat(p) // follows symlinks, as in Kubernetes ConfigMaps
			if err != nil || fi.IsDir() {
				continue
			}
			files = append(files, p)
			stamp(p, fi)
		}
	}
	return files, b.String()
}

// isPolicyFileName reports whether a file in a policy directory is loaded.
func isPolicyFileName(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// resolve locates a configured path: absolute paths as they are, relative
// ones in the configuration directories first, then in the working
// directory. dir selects whether a directory or a regular file is wanted.
func (e *Enforcer) resolve(path string, dir bool) (string, os.FileInfo, bool) {
	try := func(p string) (os.FileInfo, bool) {
		fi, err := os.Stat(p)
		return fi, err == nil && fi.IsDir() == dir
	}
	if filepath.IsAbs(path) {
		fi, ok := try(path)
		return path, fi, ok
	}
	for _, cd := range e.opts.ConfigDirs {
		p := filepath.Join(cd, path)
		if fi, ok := try(p); ok {
			return p, fi, true
		}
	}
	fi, ok := try(path)
	return path, fi, ok
}

// readPolicyFile reads a policy file into rule name → raw value. JSON files
// (by extension) are decoded as JSON, anything else as YAML; an empty file
// holds no rules.
func readPolicyFile(path string) (map[string]any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("policy file %s: %w", path, err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil
	}
	var raw map[string]any
	if strings.EqualFold(filepath.Ext(path), ".json") {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		err = dec.Decode(&raw)
	} else {
		err = yaml.Unmarshal(data, &raw)
	}
	if err != nil {
		return nil, fmt.Errorf("policy file %s: not a map of rule names to check strings: %w", path, err)
	}
	return raw, nil
}

// compileValue compiles a rule as found in a policy file: a check string, or
// oslo's legacy list-of-lists form.
func compileValue(c *compiler, v any) (*node, error) {
	switch x := v.(type) {
	case string:
		return c.compile(x)
	case []any:
		return c.compileList(x)
	case nil:
		return nil, errors.New(`no check string (use "" or "@" to allow everyone)`)
	default:
		return nil, fmt.Errorf("check string must be a string, not %T", v)
	}
}
