package api_test

import (
	"testing"

	"github.com/neutrino-net/neutrino/internal/testenv/readermatrix"
)

// readerClient is the matrix's client over noauth identity headers: the
// reader sends X-Roles: reader alone.
type readerClient struct{ e *env }

func (c readerClient) Do(t testing.TB, as readermatrix.Caller, method, path string, body any) readermatrix.Reply {
	who := map[readermatrix.Caller]*caller{readermatrix.Admin: admin, readermatrix.Member: member1,
		readermatrix.Reader: reader1}[as]
	r := c.e.do(who, method, path, body)
	return readermatrix.Reply{Status: r.status, Body: r.body, Raw: r.raw}
}

func (readerClient) Project() string { return member1.project }

// TestReaderChangesNothing: a reader of the owning project cannot change
// any attribute of any resource the API definitions make writable, nor
// run its actions, nor change its tags or the project's quota
// (internal/testenv/readermatrix); test/keystone runs the same matrix
// with real tokens.
func TestReaderChangesNothing(t *testing.T) {
	// ML2 (for segments) with VNIs enough for every network made here.
	ml2Engines(t, map[string]string{"ml2_type_vxlan.vni_ranges": "1:100"}, func(t *testing.T, e *env) {
		e.srv.ML2.SetAgents(testAgents())
		readermatrix.Run(t, readerClient{e}, readermatrix.Options{
			Fixtures: map[string]readermatrix.Fixture{
				// Agents exist once they report; here, in process.
				"agents": func(m *readermatrix.Maker) string {
					e.report("Linux bridge agent", "reader-host", "nova", true)
					return "/v2.0/agents/" + e.agentID("Linux bridge agent", "reader-host")
				},
			},
			MinRefusals: 90,
		})
	})
}
