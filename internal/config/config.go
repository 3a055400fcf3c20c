package config

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
)

// Config is a loaded configuration: every registered option's value,
// already interpolated and validated. It is immutable and safe for
// concurrent use.
//
// The accessors panic when given an option that was not registered on the
// Registry that produced the Config before it was loaded, since that can
// only be a programming error.
type Config struct {
	values map[*optBase]value
	opts   []option // registration order, for LogValues
	files  []string
}

type value struct {
	v      any // string, int, float64, bool or []string
	source string
	set    bool
	secret bool
}

func (c *Config) get(o Opt) value {
	v, ok := c.values[o.opt()]
	if !ok {
		panic(fmt.Sprintf("config: option %v is not part of this Config (registered on another Registry, or after loading)", o.opt().key))
	}
	return v
}

// String returns the value of a string option.
func (c *Config) String(o *StringOpt) string { return c.get(o).v.(string) }

// Int returns the value of an integer option.
func (c *Config) Int(o *IntOpt) int { return c.get(o).v.(int) }

// Float returns the value of a floating-point option.
func (c *Config) Float(o *FloatOpt) float64 { return c.get(o).v.(float64) }

// Bool returns the value of a boolean option.
func (c *Config) Bool(o *BoolOpt) bool { return c.get(o).v.(bool) }

// List returns the value of a list option. The caller may modify the
// returned slice.
func (c *Config) List(o *ListOpt) []string { return slices.Clone(c.get(o).v.([]string)) }

// MultiString returns every value of a multi-valued option, in load order.
// The caller may modify the returned slice.
func (c *Config) MultiString(o *MultiStringOpt) []string {
	return slices.Clone(c.get(o).v.([]string))
}

// IsSet reports whether the option's value came from a file (under its
// current or a deprecated name) or from an override given to
// [Registry.LoadWithDefaults], rather than from its declared default.
func (c *Config) IsSet(o Opt) bool { return c.get(o).set }

// Source returns where the option's value came from: "FILE:LINE" for a
// file (the last value read, for a [MultiStringOpt]), "override" for an
// override given to [Registry.LoadWithDefaults], and "" for the declared
// default.
func (c *Config) Source(o Opt) string { return c.get(o).source }

// Files returns the configuration files that were read, in the order they
// were applied, including those found in configuration directories.
func (c *Config) Files() []string { return slices.Clone(c.files) }

// LogValues logs the files read and every option's value at the given
// level, like oslo.config's log_opt_values, so that an operator can see the
// effective configuration at startup. Secret values are shown as "****".
func (c *Config) LogValues(ctx context.Context, logger *slog.Logger, level slog.Level) {
	logger.Log(ctx, level, "configuration files", "files", c.files)
	for _, o := range c.opts {
		v := c.values[o.opt()]
		shown := v.v
		if v.secret {
			shown = "****"
		}
		logger.Log(ctx, level, "configuration option",
			"section", o.Section(), "option", o.Name(), "value", shown, "source", v.source)
	}
}

// Invalid returns the error that refuses o's value, naming where the
// value came from, the section and the option:
// "config: /etc/neutron/neutron.conf:12: [DEFAULT] transport_url: …".
func (c *Config) Invalid(o Opt, err error) error {
	src := c.Source(o)
	if src == "" {
		src = "default value"
	}
	return fmt.Errorf("config: %s: [%s] %s: %w", src, o.Section(), o.Name(), err)
}
