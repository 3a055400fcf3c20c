package ipam

import (
	"errors"
	"fmt"
)

// Error is a Neutron exception raised by address logic.
//
// Type, Status and Message are what a NeutronError body carries; the caller
// turns an *Error into its own fault type without inspecting the message.
type Error struct {
	Type    string // Neutron exception class, e.g. "InvalidAllocationPool"
	Status  int    // HTTP status neutron-lib maps it to: 400, 409, or 500 for exceptions outside the fault map
	Message string // Neutron's message, e.g. "The allocation pool 10.0.0.2-10.0.1.6 spans beyond the subnet cidr 10.0.0.0/24."
}

// Error returns the exception type and message, separated by a colon.
func (e *Error) Error() string { return e.Type + ": " + e.Message }

// AsError returns the *Error inside err, if there is one.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// newError builds an *Error with a formatted message.
func newError(status int, typ, format string, args ...any) *Error {
	return &Error{Type: typ, Status: status, Message: fmt.Sprintf(format, args...)}
}

// invalidInput is neutron-lib's InvalidInput(error_message=msg), a 400.
func invalidInput(format string, args ...any) *Error {
	return &Error{Type: "InvalidInput", Status: 400,
		Message: "Invalid input for operation: " + fmt.Sprintf(format, args...) + "."}
}

// badRequest is neutron-lib's BadRequest(resource, msg), a 400.
func badRequest(resource, msg string) *Error {
	return newError(400, "BadRequest", "Bad %s request: %s.", resource, msg)
}

// AttributeError is the 400 Neutron's API layer raises when an attribute
// fails its validator: webob's HTTPBadRequest with the message
// "Invalid input for <attr>. Reason: <reason>.".
func AttributeError(attr, reason string) *Error {
	return newError(400, "HTTPBadRequest", "Invalid input for %s. Reason: %s.", attr, reason)
}

// versionMismatch is the InvalidInput Neutron's _validate_ip_version raises
// when an address or CIDR attribute has the wrong IP family.
func versionMismatch(name, addr string, ipVersion int) *Error {
	return invalidInput("%s '%s' does not match the ip_version '%d'", name, addr, ipVersion)
}
