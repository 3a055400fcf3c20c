// Package fault defines Neutron's exceptions as Go errors: each has the
// exception's class name (the "type" of a NeutronError body), its message,
// and the HTTP status neutron-lib's fault map gives it.
//
// Plugins and the store return these; the API renders them. The package
// knows status codes but nothing else of HTTP (it does not even import
// net/http), so any layer may import it.
package fault

import (
	"errors"
	"fmt"
)

// Error is a Neutron exception.
type Error struct {
	// Status is the HTTP status code the exception maps to.
	Status int
	// Type is Neutron's exception class name, e.g. "NetworkNotFound".
	Type string
	// Message is the human-readable message, with Neutron's wording.
	Message string
	// Detail is Neutron's rarely used detail field.
	Detail string
}

func (e *Error) Error() string { return e.Type + ": " + e.Message }

// New returns an exception of the given status, type and message.
func New(status int, typ, format string, args ...any) *Error {
	return &Error{Status: status, Type: typ, Message: fmt.Sprintf(format, args...)}
}

// As returns the *Error inside err, if any.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// Is reports whether err is a Neutron exception of type typ.
func Is(err error, typ string) bool {
	e, ok := As(err)
	return ok && e.Type == typ
}

// BadRequest is webob's HTTPBadRequest as Neutron raises it for malformed
// requests.
func BadRequest(format string, args ...any) *Error {
	return New(400, "HTTPBadRequest", format, args...)
}

// InvalidInput is neutron-lib's InvalidInput.
func InvalidInput(reason string) *Error {
	return New(400, "InvalidInput", "Invalid input for operation: %s.", reason)
}

// NeutronBadRequest is neutron-lib's BadRequest(resource, msg).
func NeutronBadRequest(resource, msg string) *Error {
	return New(400, "BadRequest", "Bad %s request: %s.", resource, msg)
}

// HTTPNotFound is the generic 404 Neutron gives for unknown paths and for
// resources the caller may not see.
func HTTPNotFound() *Error {
	return New(404, "HTTPNotFound", "The resource could not be found.")
}

// NotFound is a resource-specific 404 such as NetworkNotFound.
func NotFound(typ, message string) *Error {
	return New(404, typ, "%s", message)
}

// Conflict is a 409 with a Neutron exception type.
func Conflict(typ, format string, args ...any) *Error {
	return New(409, typ, format, args...)
}

// Forbidden is a 403 PolicyNotAuthorized; rule is the failed check as
// oslo.policy prints it ("rule:create_network", or
// "(rule:create_network and rule:create_network:shared)").
func Forbidden(rule string) *Error {
	return New(403, "PolicyNotAuthorized", "%s is disallowed by policy", rule)
}

// RevisionConstraintFailed is the 412 for a failed If-Match.
func RevisionConstraintFailed(expected, current int) *Error {
	return New(412, "RevisionNumberConstraintFailed",
		"Constrained to %d, but current revision is %d", expected, current)
}

// Internal is the 500 Neutron answers for anything unexpected; it never
// exposes the cause to the client.
func Internal() *Error {
	return New(500, "HTTPInternalServerError",
		"Request Failed: internal server error while processing your request.")
}

// ServiceUnavailable is a 503 with a Neutron exception type.
func ServiceUnavailable(typ, format string, args ...any) *Error {
	return New(503, typ, format, args...)
}
