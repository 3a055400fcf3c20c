package policy

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// opCode identifies the kind of a compiled check node.
type opCode uint8

const (
	opAlways      opCode = iota // "@" or the empty rule
	opNever                     // "!"
	opAnd                       // all kids hold
	opOr                        // any kid holds
	opNot                       // the single kid does not hold
	opRule                      // rule:NAME
	opRole                      // role:NAME
	opGeneric                   // credential or literal compared with a target value
	opField                     // field:resource:attr=value
	opUnsupported               // a check this engine cannot evaluate; always false
)

// credField names the credential a generic check compares against.
type credField uint8

const (
	credLiteral credField = iota // the left side is a Python literal
	credUserID
	credProjectID
	credDomainID
	credIsAdmin
	credSystemScope
	credRoles
)

// credFields maps the credential keys of oslo's policy values onto the fields
// of Credentials. "tenant_id" is Neutron's legacy spelling of project_id and
// "system" is the key oslo.policy itself uses for the system scope.
var credFields = map[string]credField{
	"user_id":      credUserID,
	"project_id":   credProjectID,
	"tenant_id":    credProjectID,
	"domain_id":    credDomainID,
	"is_admin":     credIsAdmin,
	"system_scope": credSystemScope,
	"system":       credSystemScope,
	"roles":        credRoles,
}

// node is one compiled check. Composite nodes (and, or, not) hold kids; leaf
// nodes hold what their kind needs. Rule references are linked to the
// referenced rule's root when a rule set is built.
type node struct {
	op   opCode
	kids []*node
	text string // the check as written, used by String

	name   string // opRule: referenced rule
	target *node  // opRule: linked root; nil denies

	match   template  // opRole, opGeneric: right-hand side
	cred    credField // opGeneric: left-hand side
	literal string    // opGeneric with credLiteral: the literal's str()

	field *fieldCheck // opField
}

// String renders the node in a canonical form: two rules that compile to the
// same tree render identically.
func (n *node) String() string {
	switch n.op {
	case opAlways:
		return "@"
	case opNever:
		return "!"
	case opNot:
		return "not " + n.kids[0].String()
	case opAnd, opOr:
		sep := " and "
		if n.op == opOr {
			sep = " or "
		}
		parts := make([]string, len(n.kids))
		for i, k := range n.kids {
			parts[i] = k.String()
		}
		return "(" + strings.Join(parts, sep) + ")"
	default:
		return n.text
	}
}

// fieldCheck is Neutron's FieldCheck: "field:RESOURCE:ATTR=VALUE" holds when
// the target's ATTR equals VALUE, or matches the regular expression after a
// leading "~".
type fieldCheck struct {
	attr    string         // target key, e.g. "shared"
	altKey  string         // parent-qualified key, e.g. "network:shared"
	value   string         // the raw value
	re      *regexp.Regexp // set for "~regex" values, anchored at the start
	boolVal bool           // value as a boolean, when boolOK
	boolOK  bool
	numVal  float64 // value as a number, when numOK
	numOK   bool
}

// template is the right-hand side of a check after Python %-formatting
// against the target: literal text interleaved with %(key)s references.
type template struct {
	parts []tmplPart
}

// tmplPart is literal text, or a reference to a target key.
type tmplPart struct {
	text string   // literal text, or the referenced key
	path []string // the key split on dots, for nested lookups; nil if undotted
	ref  bool
}

// compiler turns check strings into nodes, reporting checks it cannot
// evaluate through warn.
type compiler struct {
	warn func(key, msg string, args ...any)
}

// compile parses a rule's check string.
func (c *compiler) compile(rule string) (*node, error) {
	if rule == "" {
		return &node{op: opAlways, text: "@"}, nil
	}
	toks := tokenize(rule)
	if len(toks) == 0 {
		return nil, errors.New(`blank rule (use "" or "@" to allow everyone)`)
	}
	p := parser{toks: toks, c: c}
	n, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if p.pos < len(p.toks) {
		return nil, fmt.Errorf("unexpected %s", p.toks[p.pos])
	}
	return n, nil
}

// compileList parses oslo's legacy list-of-lists rule form: the outer list is
// an "or" of inner lists, each an "and" of single checks.
func (c *compiler) compileList(rule []any) (*node, error) {
	if len(rule) == 0 {
		return &node{op: opAlways, text: "@"}, nil
	}
	or := &node{op: opOr}
	for _, inner := range rule {
		var checks []any
		switch v := inner.(type) {
		case string:
			checks = []any{v}
		case []any:
			checks = v
		default:
			return nil, fmt.Errorf("list rule element %v is neither a string nor a list", inner)
		}
		if len(checks) == 0 {
			continue
		}
		and := &node{op: opAnd}
		for _, ch := range checks {
			s, ok := ch.(string)
			if !ok {
				return nil, fmt.Errorf("list rule element %v is not a string", ch)
			}
			n, err := c.parseCheck(s)
			if err != nil {
				return nil, err
			}
			and.kids = append(and.kids, n)
		}
		or.kids = append(or.kids, simplify(and))
	}
	if len(or.kids) == 0 {
		return &node{op: opNever, text: "!"}, nil
	}
	return simplify(or), nil
}

// simplify collapses a single-kid and/or node into its kid.
func simplify(n *node) *node {
	if (n.op == opAnd || n.op == opOr) && len(n.kids) == 1 {
		return n.kids[0]
	}
	return n
}

// tokKind is the kind of a lexical token.
type tokKind uint8

const (
	tokLParen tokKind = iota
	tokRParen
	tokAnd
	tokOr
	tokNot
	tokCheck
	tokString
)

// token is one lexical token of a check string.
type token struct {
	kind tokKind
	text string
}

func (t token) String() string {
	switch t.kind {
	case tokLParen:
		return `"("`
	case tokRParen:
		return `")"`
	case tokString:
		return "quoted string " + strconv.Quote(t.text)
	default:
		return strconv.Quote(t.text)
	}
}

// tokenize splits a check string the way oslo.policy does: on whitespace,
// with parentheses peeled off the start and end of each word, the words
// "and", "or" and "not" (any case) as operators, and fully quoted words as
// strings.
func tokenize(s string) []token {
	var out []token
	for _, w := range strings.Fields(s) {
		for len(w) > 0 && w[0] == '(' {
			out = append(out, token{kind: tokLParen, text: "("})
			w = w[1:]
		}
		closing := 0
		for len(w) > 0 && w[len(w)-1] == ')' {
			closing++
			w = w[:len(w)-1]
		}
		if w != "" {
			switch lw := strings.ToLower(w); {
			case lw == "and":
				out = append(out, token{kind: tokAnd, text: w})
			case lw == "or":
				out = append(out, token{kind: tokOr, text: w})
			case lw == "not":
				out = append(out, token{kind: tokNot, text: w})
			case len(w) >= 2 && (w[0] == '\'' || w[0] == '"') && w[len(w)-1] == w[0]:
				out = append(out, token{kind: tokString, text: w[1 : len(w)-1]})
			default:
				out = append(out, token{kind: tokCheck, text: w})
			}
		}
		for range closing {
			out = append(out, token{kind: tokRParen, text: ")"})
		}
	}
	return out
}

// parser is a recursive-descent parser over tokens with oslo's precedence:
// "or" binds loosest, then "and", then "not".
type parser struct {
	toks []token
	pos  int
	c    *compiler
}

func (p *parser) peek() (token, bool) {
	if p.pos < len(p.toks) {
		return p.toks[p.pos], true
	}
	return token{}, false
}

func (p *parser) parseOr() (*node, error) {
	first, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	n := &node{op: opOr, kids: []*node{first}}
	for {
		t, ok := p.peek()
		if !ok || t.kind != tokOr {
			return simplify(n), nil
		}
		p.pos++
		k, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		n.kids = append(n.kids, k)
	}
}

func (p *parser) parseAnd() (*node, error) {
	first, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	n := &node{op: opAnd, kids: []*node{first}}
	for {
		t, ok := p.peek()
		if !ok || t.kind != tokAnd {
			return simplify(n), nil
		}
		p.pos++
		k, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		n.kids = append(n.kids, k)
	}
}

func (p *parser) parseUnary() (*node, error) {
	t, ok := p.peek()
	if !ok {
		if p.pos == 0 {
			return nil, errors.New("empty rule")
		}
		return nil, fmt.Errorf("rule ends after %s", p.toks[p.pos-1])
	}
	switch t.kind {
	case tokNot:
		p.pos++
		k, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		return &node{op: opNot, kids: []*node{k}}, nil
	case tokLParen:
		p.pos++
		n, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		if t, ok := p.peek(); !ok || t.kind != tokRParen {
			return nil, errors.New(`missing ")"`)
		}
		p.pos++
		return n, nil
	case tokCheck:
		p.pos++
		return p.c.parseCheck(t.text)
	default:
		return nil, fmt.Errorf("unexpected %s", t)
	}
}

// parseCheck compiles a single "kind:match" check.
func (c *compiler) parseCheck(s string) (*node, error) {
	switch s {
	case "@":
		return &node{op: opAlways, text: s}, nil
	case "!":
		return &node{op: opNever, text: s}, nil
	}
	kind, match, ok := strings.Cut(s, ":")
	if !ok {
		return nil, fmt.Errorf("%q is not a check (want kind:match)", s)
	}
	switch kind {
	case "rule":
		if match == "" {
			return nil, fmt.Errorf("%q names no rule", s)
		}
		return &node{op: opRule, text: s, name: match}, nil
	case "role":
		tm, err := parseTemplate(match)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", s, err)
		}
		return &node{op: opRole, text: s, match: tm}, nil
	case "field":
		fc, err := parseField(match)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", s, err)
		}
		return &node{op: opField, text: s, field: fc}, nil
	case "http", "https":
		c.warn("kind:"+kind, "policy check kind is not supported; it always denies", "check", s)
		return &node{op: opUnsupported, text: s}, nil
	}
	tm, err := parseTemplate(match)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", s, err)
	}
	n := &node{op: opGeneric, text: s, match: tm}
	if lit, ok := pyLiteral(kind); ok {
		n.cred, n.literal = credLiteral, lit
		return n, nil
	}
	f, ok := credFields[kind]
	if !ok {
		c.warn("cred:"+kind, "policy check compares an unknown credential; it always denies", "check", s)
		return &node{op: opUnsupported, text: s}, nil
	}
	n.cred = f
	return n, nil
}

// parseField compiles the "RESOURCE:ATTR=VALUE" part of a field check.
func parseField(match string) (*fieldCheck, error) {
	resource, rest, ok := strings.Cut(match, ":")
	if !ok || resource == "" {
		return nil, errors.New("field check needs RESOURCE:ATTRIBUTE=VALUE")
	}
	attr, value, ok := strings.Cut(rest, "=")
	if !ok || attr == "" {
		return nil, errors.New("field check needs RESOURCE:ATTRIBUTE=VALUE")
	}
	fc := &fieldCheck{attr: attr, altKey: singular(resource) + ":" + attr, value: value}
	if re, ok := strings.CutPrefix(value, "~"); ok {
		compiled, err := regexp.Compile("^(?:" + re + ")")
		if err != nil {
			return nil, fmt.Errorf("bad regular expression: %w", err)
		}
		fc.re = compiled
		return fc, nil
	}
	switch strings.ToLower(value) {
	case "true", "1":
		fc.boolVal, fc.boolOK = true, true
	case "false", "0":
		fc.boolVal, fc.boolOK = false, true
	}
	if f, err := strconv.ParseFloat(value, 64); err == nil {
		fc.numVal, fc.numOK = f, true
	}
	return fc, nil
}

// singular turns a collection name into the prefix Neutron uses for a parent
// resource's attributes in a target ("networks" → "network").
func singular(resource string) string {
	switch {
	case strings.HasSuffix(resource, "ies"):
		return strings.TrimSuffix(resource, "ies") + "y"
	case strings.HasSuffix(resource, "s"):
		return strings.TrimSuffix(resource, "s")
	}
	return resource
}

// parseTemplate compiles the right-hand side of a check, which oslo formats
// with Python's % operator against the target. Only %(key)s and %% are
// accepted.
func parseTemplate(s string) (template, error) {
	var t template
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			t.parts = append(t.parts, tmplPart{text: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			lit.WriteByte(s[i])
			continue
		}
		rest := s[i+1:]
		switch {
		case strings.HasPrefix(rest, "%"):
			lit.WriteByte('%')
			i++
		case strings.HasPrefix(rest, "("):
			end := strings.Index(rest, ")s")
			if end < 0 {
				return template{}, errors.New(`"%(" without a closing ")s"`)
			}
			key := rest[1:end]
			if key == "" {
				return template{}, errors.New("empty %()s reference")
			}
			flush()
			part := tmplPart{text: key, ref: true}
			if strings.Contains(key, ".") {
				part.path = strings.Split(key, ".")
			}
			t.parts = append(t.parts, part)
			i += end + 2
		default:
			return template{}, fmt.Errorf("unsupported %% directive in %q (only %%(key)s and %%%% are allowed)", s)
		}
	}
	flush()
	return t, nil
}

// pyLiteral reports whether s is a Python literal (a quoted string, a
// number, True, False or None) and returns what Python's str() gives for it.
func pyLiteral(s string) (string, bool) {
	switch s {
	case "True", "False", "None":
		return s, true
	}
	if len(s) >= 2 && (s[0] == '\'' || s[0] == '"') && s[len(s)-1] == s[0] {
		return s[1 : len(s)-1], true
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return strconv.FormatInt(i, 10), true
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && strings.ContainsAny(s, "0123456789") {
		return pyFloat(f), true
	}
	return "", false
}
