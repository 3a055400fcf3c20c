package api

import (
	"encoding/json"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/neutrino-net/neutrino/internal/resource"
)

// timeFormat is how Neutron shows timestamps.
const timeFormat = "2006-01-02T15:04:05Z"

// view decides which attributes of an object a reply shows: the visible
// ones, narrowed by fields= and by per-attribute policy.
type view struct {
	res *resource.Resource
	// show[i] is whether attribute i is shown, before policy.
	show []bool
	// keys[i] is the pre-encoded `"name":` of attribute i.
	keys [][]byte
	// omitUnset[i] is whether attribute i is left out when the plugin
	// set no value: a virtual attribute without a default, which Neutron
	// shows only when its plugin puts it in the reply (a network's
	// segments only when it has several).
	omitUnset []bool
}

func newView(r *resource.Resource, fields []string) *view {
	v := &view{res: r, show: make([]bool, len(r.Attrs())), keys: make([][]byte, len(r.Attrs())),
		omitUnset: make([]bool, len(r.Attrs()))}
	want := map[string]bool{}
	for _, f := range fields {
		want[f] = true
	}
	for i, a := range r.Attrs() {
		v.show[i] = a.Visible && (len(fields) == 0 || want[a.Name])
		v.omitUnset[i] = a.OmitUnset || a.Storage == resource.Virtual && a.Default == resource.NotSpecified
		k, _ := json.Marshal(a.Name)
		v.keys[i] = append(k, ':')
	}
	return v
}

// appendObject encodes o as a JSON object, skipping attributes the view
// hides and those hidden[i] marks (policy).
func (v *view) appendObject(b []byte, o *resource.Object, hidden []bool) []byte {
	b = append(b, '{')
	first := true
	for i, show := range v.show {
		if !show || (hidden != nil && hidden[i]) || (v.omitUnset[i] && !o.HasAt(i)) {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, v.keys[i]...)
		b = appendValue(b, o.At(i))
	}
	return append(b, '}')
}

// appendValue encodes one value; the common kinds take a fast path that
// avoids reflection, which dominates large list replies otherwise.
func appendValue(b []byte, v any) []byte {
	switch t := v.(type) {
	case nil:
		return append(b, "null"...)
	case string:
		return appendString(b, t)
	case bool:
		return strconv.AppendBool(b, t)
	case int:
		return strconv.AppendInt(b, int64(t), 10)
	case time.Time:
		return appendTime(b, t)
	case []string:
		b = append(b, '[')
		for i, s := range t {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, s)
		}
		return append(b, ']')
	case []any:
		b = append(b, '[')
		for i, v := range t {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendValue(b, v)
		}
		return append(b, ']')
	case map[string]any:
		// Keys sorted, as encoding/json writes them; a few keys (a
		// port's fixed_ips) sort without allocating.
		var few [8]string
		keys := few[:0]
		for k := range t {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = appendValue(b, t[k])
		}
		return append(b, '}')
	}
	enc, err := json.Marshal(v)
	if err != nil {
		return append(b, "null"...)
	}
	return append(b, enc...)
}

// appendTime writes t in UTC as Neutron shows timestamps, "YYYY-MM-DDTHH:MM:SSZ";
// a year outside 0–9999 goes through time's own formatting.
func appendTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	y, mo, d := t.Date()
	if y < 0 || y > 9999 {
		b = append(b, '"')
		b = t.AppendFormat(b, timeFormat)
		return append(b, '"')
	}
	h, mi, s := t.Clock()
	two := func(b []byte, v int) []byte { return append(b, byte('0'+v/10), byte('0'+v%10)) }
	b = append(b, '"', byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-')
	b = two(b, int(mo))
	b = append(b, '-')
	b = two(b, d)
	b = append(b, 'T')
	b = two(b, h)
	b = append(b, ':')
	b = two(b, mi)
	b = append(b, ':')
	b = two(b, s)
	return append(b, 'Z', '"')
}

// appendString writes s as a JSON string, escaping as encoding/json does
// for the characters that matter (quotes, backslash, control characters,
// and <, >, & so replies are safe in HTML contexts).
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if plainASCII[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, `\u00`...)
				b = append(b, hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, `\u202`...)
			b = append(b, hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

const hex = "0123456789abcdef"

// plainASCII marks the bytes appendString copies as they are: ASCII but
// control characters, quote, backslash and <, >, &.
var plainASCII = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()
