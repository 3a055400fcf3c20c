package config

import (
	"fmt"
	"strings"
)

// ParseArgs extracts the oslo-style --config-file and --config-dir options
// from a command line, in either the "--config-file F" or the
// "--config-file=F" form; both may be repeated. It returns the files and
// directories in the order given and the remaining arguments, untouched,
// for the program's own flag parsing. Arguments after "--" are left alone.
func ParseArgs(args []string) (files, dirs, rest []string, err error) {
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "--" {
			rest = append(rest, args[i:]...)
			break
		}
		name, val, hasVal := strings.Cut(arg, "=")
		var dst *[]string
		switch name {
		case "--config-file":
			dst = &files
		case "--config-dir":
			dst = &dirs
		default:
			rest = append(rest, arg)
			continue
		}
		if !hasVal {
			// Like argparse, do not take the next option as the value:
			// "--config-file --debug" is a mistake, not a file name.
			if i+1 == len(args) || strings.HasPrefix(args[i+1], "-") {
				return nil, nil, nil, fmt.Errorf("config: %s needs a path argument", name)
			}
			i++
			val = args[i]
		}
		if val == "" {
			return nil, nil, nil, fmt.Errorf("config: %s: empty path", name)
		}
		*dst = append(*dst, val)
	}
	return files, dirs, rest, nil
}
