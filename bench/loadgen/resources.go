package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

// network is the part of a Neutron network the generator needs.
type network struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// networkAttrs is the request body of a network create or update.
type networkAttrs struct {
	Name string `json:"name"`
}

// subnetAttrs is the request body of a subnet create.
type subnetAttrs struct {
	NetworkID string `json:"network_id"`
	Name      string `json:"name"`
	IPVersion int    `json:"ip_version"`
	CIDR      string `json:"cidr"`
}

// portAttrs is the request body of a port create.
type portAttrs struct {
	NetworkID string `json:"network_id"`
	Name      string `json:"name"`
}

// idOnly decodes the id of a created resource.
type idOnly struct {
	ID string `json:"id"`
}

// resourcePath returns the path of one resource of collection.
func resourcePath(collection, id string) string {
	return "/v2.0/" + collection + "/" + url.PathEscape(id)
}

// createNetwork creates one network with POST /v2.0/networks.
func (c *Client) createNetwork(ctx context.Context, name string) (network, error) {
	var out struct {
		Network network `json:"network"`
	}
	in := struct {
		Network networkAttrs `json:"network"`
	}{networkAttrs{Name: name}}
	if err := c.doJSON(ctx, http.MethodPost, "/v2.0/networks", in, &out); err != nil {
		return network{}, err
	}
	if out.Network.ID == "" {
		return network{}, errors.New("create network: response has no network id")
	}
	return out.Network, nil
}

// bulkCreateNetworks creates one network per name with a single bulk
// request, POST /v2.0/networks {"networks": [...]}.
func (c *Client) bulkCreateNetworks(ctx context.Context, names []string) ([]network, error) {
	in := struct {
		Networks []networkAttrs `json:"networks"`
	}{make([]networkAttrs, len(names))}
	for i, name := range names {
		in.Networks[i].Name = name
	}
	var out struct {
		Networks []network `json:"networks"`
	}
	if err := c.doJSON(ctx, http.MethodPost, "/v2.0/networks", in, &out); err != nil {
		return nil, err
	}
	if len(out.Networks) != len(names) {
		return out.Networks, fmt.Errorf("bulk create: asked for %d networks, response lists %d", len(names), len(out.Networks))
	}
	return out.Networks, nil
}

// bulkUnsupported reports whether err from a bulk create means the endpoint
// does not accept bulk requests (rather than failing for another reason).
func bulkUnsupported(err error) bool {
	switch statusOf(err) {
	case http.StatusBadRequest, http.StatusNotFound, http.StatusMethodNotAllowed,
		http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity, http.StatusNotImplemented:
		return true
	}
	return false
}

// showResource fetches one resource with GET.
func (c *Client) showResource(ctx context.Context, collection, id string) error {
	_, err := c.do(ctx, http.MethodGet, resourcePath(collection, id), nil)
	return err
}

// updateNetworkName renames a network with PUT /v2.0/networks/{id}.
func (c *Client) updateNetworkName(ctx context.Context, id, name string) error {
	in := struct {
		Network networkAttrs `json:"network"`
	}{networkAttrs{Name: name}}
	_, err := c.do(ctx, http.MethodPut, resourcePath("networks", id), in)
	return err
}

// deleteResource deletes one resource with DELETE.
func (c *Client) deleteResource(ctx context.Context, collection, id string) error {
	_, err := c.do(ctx, http.MethodDelete, resourcePath(collection, id), nil)
	return err
}

// createSubnet creates an IPv4 subnet and returns its id.
func (c *Client) createSubnet(ctx context.Context, networkID, name, cidr string) (string, error) {
	in := struct {
		Subnet subnetAttrs `json:"subnet"`
	}{subnetAttrs{NetworkID: networkID, Name: name, IPVersion: 4, CIDR: cidr}}
	var out struct {
		Subnet idOnly `json:"subnet"`
	}
	if err := c.doJSON(ctx, http.MethodPost, "/v2.0/subnets", in, &out); err != nil {
		return "", err
	}
	if out.Subnet.ID == "" {
		return "", errors.New("create subnet: response has no subnet id")
	}
	return out.Subnet.ID, nil
}

// bulkCreatePorts creates one port per name on a network with a single
// bulk request, POST /v2.0/ports {"ports": [...]}, and returns their ids.
func (c *Client) bulkCreatePorts(ctx context.Context, networkID string, names []string) ([]string, error) {
	in := struct {
		Ports []portAttrs `json:"ports"`
	}{make([]portAttrs, len(names))}
	for i, name := range names {
		in.Ports[i] = portAttrs{NetworkID: networkID, Name: name}
	}
	var out struct {
		Ports []idOnly `json:"ports"`
	}
	if err := c.doJSON(ctx, http.MethodPost, "/v2.0/ports", in, &out); err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(out.Ports))
	for _, p := range out.Ports {
		if p.ID != "" {
			ids = append(ids, p.ID)
		}
	}
	if len(ids) != len(names) {
		return ids, fmt.Errorf("bulk create: asked for %d ports, response lists %d ids", len(names), len(ids))
	}
	return ids, nil
}

// createPort creates a port on a network and returns its id.
func (c *Client) createPort(ctx context.Context, networkID, name string) (string, error) {
	in := struct {
		Port portAttrs `json:"port"`
	}{portAttrs{NetworkID: networkID, Name: name}}
	var out struct {
		Port idOnly `json:"port"`
	}
	if err := c.doJSON(ctx, http.MethodPost, "/v2.0/ports", in, &out); err != nil {
		return "", err
	}
	if out.Port.ID == "" {
		return "", errors.New("create port: response has no port id")
	}
	return out.Port.ID, nil
}
