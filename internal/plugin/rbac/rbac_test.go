package rbac_test

import (
	"errors"
	"testing"

	"github.com/neutrino-net/neutrino/internal/apidef"
	"github.com/neutrino-net/neutrino/internal/plugin/rbac"
)

func TestRegister(t *testing.T) {
	defs := apidef.Build()
	notFound := func(id string) error { return errors.New("no " + id) }
	r := rbac.NewRegistry(defs[apidef.RBACPolicies])
	qos := rbac.Type{ObjectType: "qos_policy", Resource: defs[apidef.Networks], Actions: []string{rbac.AccessAsShared}, NotFound: notFound}
	if err := r.Register(qos); err != nil {
		t.Fatal(err)
	}
	if err := r.Register(qos); err == nil {
		t.Error("a type registered twice was accepted")
	}
	if err := r.Register(rbac.Type{ObjectType: "bad", Resource: defs[apidef.Networks]}); err == nil {
		t.Error("a type without actions was accepted")
	}
	// A type whose resource is not served is not registered.
	if err := r.Register(rbac.Type{ObjectType: "address_group", Actions: []string{rbac.AccessAsShared}, NotFound: notFound}); err != nil {
		t.Fatal(err)
	}
	if _, ok := r.Lookup("address_group"); ok {
		t.Error("a type without a served resource was registered")
	}
	if got, ok := r.Lookup("qos_policy"); !ok || got.ObjectType != "qos_policy" {
		t.Errorf("Lookup(qos_policy) = %v, %v", got, ok)
	}
	if got := r.ObjectTypes(); len(got) != 1 || got[0] != "qos_policy" {
		t.Errorf("ObjectTypes() = %v", got)
	}

	// Without the rbac-policies extension nothing registers.
	off := rbac.NewRegistry(nil)
	if err := off.Register(qos); err != nil || off.Enabled() {
		t.Errorf("disabled registry: %v, enabled %v", err, off.Enabled())
	}
	if _, ok := off.Lookup("qos_policy"); ok {
		t.Error("a disabled registry registered a type")
	}
}
