package resource

import (
	"fmt"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Validators, named after neutron-lib's "type:…" validators. Each returns a
// func that reports why a converted value is invalid, with Neutron's
// wording.

// MaxLen validates a string no longer than n characters.
func MaxLen(n int) func(any) error {
	return func(v any) error {
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("'%s' is not a valid string", PyStr(v))
		}
		if n > 0 && utf8.RuneCountInString(s) > n {
			return fmt.Errorf("'%s' exceeds maximum length of %d", s, n)
		}
		return nil
	}
}

// NameString validates like type:name_string: printable characters,
// neither starting nor ending with white space, at most n characters.
func NameString(n int) func(any) error {
	maxLen := MaxLen(n)
	return func(v any) error {
		if err := maxLen(v); err != nil {
			return err
		}
		s := v.(string)
		if s == "" {
			return nil
		}
		first, _ := utf8.DecodeRuneInString(s)
		last, _ := utf8.DecodeLastRuneInString(s)
		valid := !edgeInvalid(first) && !edgeInvalid(last)
		for _, r := range s {
			if !unicode.IsPrint(r) && r != ' ' {
				valid = false
				break
			}
		}
		if !valid {
			return fmt.Errorf("'%s' is not a valid string", s)
		}
		return nil
	}
}

func edgeInvalid(r rune) bool {
	return !unicode.IsPrint(r) || unicode.Is(unicode.Zs, r)
}

// UUID validates like type:uuid.
func UUID(v any) error {
	s, _ := v.(string)
	if !IsUUID(s) {
		return fmt.Errorf("'%s' is not a valid UUID", PyStr(v))
	}
	return nil
}

// IsUUID reports whether s looks like a UUID, as oslo's is_uuid_like does:
// hex digits in any case, with or without dashes.
func IsUUID(s string) bool {
	if len(s) != 36 && len(s) != 32 {
		return false
	}
	_, err := uuid.Parse(s)
	return err == nil
}

// NonNegative validates like type:non_negative.
func NonNegative(v any) error {
	n, ok := v.(int)
	if !ok {
		return fmt.Errorf("'%s' is not an integer", PyStr(v))
	}
	if n < 0 {
		return fmt.Errorf("'%d' should be non-negative", n)
	}
	return nil
}

// UniqueStrings validates a list of unique strings, each at most maxLen
// characters when maxLen > 0; neutron-lib's type:list_of_unique_strings.
func UniqueStrings(maxLen int) func(any) error {
	return func(v any) error {
		items, ok := v.([]string)
		if !ok {
			return fmt.Errorf("'%s' is not a list", PyStr(v))
		}
		seen := make(map[string]bool, len(items))
		for _, s := range items {
			if maxLen > 0 && utf8.RuneCountInString(s) > maxLen {
				return fmt.Errorf("'%s' exceeds maximum length of %d", s, maxLen)
			}
			if seen[s] {
				return fmt.Errorf("Duplicate items in the list: '%s'", s)
			}
			seen[s] = true
		}
		return nil
	}
}

// All combines validators; the first failure wins.
func All(vs ...func(any) error) func(any) error {
	return func(v any) error {
		for _, f := range vs {
			if err := f(v); err != nil {
				return err
			}
		}
		return nil
	}
}
