package config

import (
	"fmt"
	"strings"
	"unicode"
)

// ParseError reports a line of a configuration file that is not valid
// oslo.config INI syntax.
type ParseError struct {
	File string // the file's path as it was given
	Line int    // 1-based line number
	Msg  string
}

// Error returns "config: FILE:LINE: MSG".
func (e *ParseError) Error() string {
	return fmt.Sprintf("config: %s:%d: %s", e.File, e.Line, e.Msg)
}

// assignment is one "key = value" read from a file.
type assignment struct {
	section string // as written in the header, not normalized
	key     string
	value   string
	line    int // line of the key; continuation lines follow it
}

// parseINI splits a file into assignments following oslo.config's
// iniparser, whose quirks existing Neutron files may rely on:
//
//   - trailing whitespace is insignificant, and a blank line ends a value;
//   - a line starting with a space or tab continues the previous value
//     (even if it looks like a comment), joined with "\n";
//   - "#" and ";" start a comment only in the first column;
//   - the key ends at the first "=" or ":", whichever comes first;
//   - a value is trimmed, and one pair of matching surrounding quotes
//     ("..." or '...') is removed from its first line;
//   - there are no inline comments: "a = b # c" sets a to "b # c".
func parseINI(path string, data []byte) ([]assignment, error) {
	text := strings.TrimPrefix(string(data), "\ufeff")
	var (
		out        []assignment
		section    string
		inSection  bool
		cur        *assignment
		valueLines []string
	)
	flush := func() {
		if cur != nil {
			cur.value = strings.Join(valueLines, "\n")
			out = append(out, *cur)
			cur, valueLines = nil, nil
		}
	}
	fail := func(n int, format string, args ...any) error {
		return &ParseError{File: path, Line: n, Msg: fmt.Sprintf(format, args...)}
	}
	for i, raw := range strings.Split(text, "\n") {
		n := i + 1
		line := strings.TrimRightFunc(raw, unicode.IsSpace)
		switch {
		case line == "":
			flush()
			continue
		case line[0] == ' ' || line[0] == '\t':
			if cur == nil {
				return nil, fail(n, "unexpected continuation line (a line starting with whitespace must follow a key)")
			}
			valueLines = append(valueLines, strings.TrimLeftFunc(line, unicode.IsSpace))
			continue
		}
		flush()
		switch line[0] {
		case '[':
			if !strings.HasSuffix(line, "]") {
				return nil, fail(n, "invalid section header %q: missing closing \"]\"", line)
			}
			if len(line) <= 2 {
				return nil, fail(n, "empty section name")
			}
			section, inSection = line[1:len(line)-1], true
		case '#', ';':
			// Comment.
		default:
			eq, colon := strings.IndexByte(line, '='), strings.IndexByte(line, ':')
			sep := eq
			if eq < 0 || (colon >= 0 && colon < eq) {
				sep = colon
			}
			if sep < 0 {
				return nil, fail(n, `no "=" or ":" in assignment`)
			}
			key := strings.TrimSpace(line[:sep])
			if key == "" {
				return nil, fail(n, "empty key")
			}
			if !inSection {
				return nil, fail(n, "key %q appears before any [section] header", key)
			}
			cur = &assignment{section: section, key: key, line: n}
			valueLines = []string{unquote(strings.TrimSpace(line[sep+1:]))}
		}
	}
	flush()
	return out, nil
}

// unquote removes one pair of matching surrounding quotes, as oslo's parser
// does; this is how a value keeps leading or trailing spaces.
func unquote(v string) string {
	if v != "" && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		if len(v) == 1 {
			return "" // a lone quote is its own closing quote, as in oslo
		}
		return v[1 : len(v)-1]
	}
	return v
}
