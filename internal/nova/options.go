package nova

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/neutrino-net/neutrino/internal/config"
)

// Section is the configuration section of the Nova client (Neutron's
// NOVA_CONF_SECTION), read with keystoneauth's option names.
const Section = "nova"

// [DEFAULT]: when to notify Nova (neutron/conf/common.py).
var (
	optStatusChanges = config.Options.Bool(config.DefaultSection, "notify_nova_on_port_status_changes", true,
		"Send notification to nova when port status changes")
	optDataChanges = config.Options.Bool(config.DefaultSection, "notify_nova_on_port_data_changes", true,
		"Send notification to nova when port data (fixed_ips/floatingip) changes so nova can update its cache.")
	optSendEventsInterval = config.Options.Int(config.DefaultSection, "send_events_interval", 2,
		"Number of seconds between sending events to nova if there are any events to send. 0 sends each event as soon as its change commits.").Min(0)
)

// [nova]: Neutron's own options, and the keystoneauth auth and session
// options Neutrino reads (the section's other keystoneauth options are
// listed in config's table of options without effect).
var (
	optRegionName = config.Options.String(Section, "region_name", "",
		"Name of nova region to use. Useful if keystone manages more than one region.")
	optEndpointType = config.Options.String(Section, "endpoint_type", "public",
		"Type of the nova endpoint to use. This endpoint will be looked up in the keystone catalog and should be one of public, internal or admin.").
		Choices("public", "admin", "internal")
	optAuthType = config.Options.String(Section, "auth_type", "",
		"Authentication type to load: password (a service user in Keystone, Nova's endpoint from the catalog) or none (no token; [nova] endpoint names Nova). Unset, Neutrino does not notify Nova.")
	optAuthURL = config.Options.String(Section, "auth_url", "",
		"Authentication URL")
	optUsername = config.Options.String(Section, "username", "",
		"Username")
	optPassword = config.Options.String(Section, "password", "",
		"User's password").Secret()
	optProjectName = config.Options.String(Section, "project_name", "",
		"Project name to scope to")
	optUserDomainName = config.Options.String(Section, "user_domain_name", "",
		"User's domain name")
	optUserDomainID = config.Options.String(Section, "user_domain_id", "",
		"User's domain id")
	optProjectDomainName = config.Options.String(Section, "project_domain_name", "",
		"Domain name containing project")
	optProjectDomainID = config.Options.String(Section, "project_domain_id", "",
		"Domain ID containing project")
	optEndpoint = config.Options.String(Section, "endpoint", "",
		"The endpoint that will always be used (auth_type = none): Nova's compute API, e.g. http://nova:8774/v2.1.")
	optEndpointOverride = config.Options.String(Section, "endpoint_override", "",
		"Neutrino: always use this endpoint URL for Nova instead of the one in Keystone's catalog (either auth_type).")
	optCAFile = config.Options.String(Section, "cafile", "",
		"PEM encoded Certificate Authority to use when verifying HTTPs connections.")
	optInsecure = config.Options.Bool(Section, "insecure", false,
		"Verify HTTPS connections.")
	optTimeout = config.Options.Int(Section, "timeout", 0,
		"Timeout value for http requests, in seconds; 0 means 30.").Min(0)
)

// Options configure the Nova notifier.
type Options struct {
	// StatusChanges sends network-vif-plugged and -unplugged
	// (notify_nova_on_port_status_changes).
	StatusChanges bool
	// DataChanges sends network-changed and network-vif-deleted
	// (notify_nova_on_port_data_changes).
	DataChanges bool
	// Interval batches events: a first event waits this long for others
	// to go with it (send_events_interval); 0 sends at once.
	Interval time.Duration
	// Client reaches Nova; nil when [nova] auth_type is unset, which
	// turns the notifier off.
	Client ClientOptions
}

// Enabled reports whether Nova is to hear of anything: it is configured
// and one of the two kinds of notification is on.
func (o Options) Enabled() bool {
	return o.Client.AuthType != "" && (o.StatusChanges || o.DataChanges)
}

// ClientOptions say how to reach Nova's API.
type ClientOptions struct {
	// AuthType is "password" or "none" ([nova] auth_type).
	AuthType string
	// AuthURL, Username, Password, ProjectName and the domains identify
	// the service user (auth_type = password).
	AuthURL, Username, Password, ProjectName string
	UserDomainName, UserDomainID             string
	ProjectDomainName, ProjectDomainID       string
	// RegionName and EndpointType pick Nova's endpoint in the catalog:
	// the "compute" service's public, internal or admin URL.
	RegionName, EndpointType string
	// Endpoint, when set, is used instead of the catalog (endpoint with
	// auth_type = none, endpoint_override with either).
	Endpoint string
	// CAFile and Insecure set up TLS towards Keystone and Nova.
	CAFile   string
	Insecure bool
	// Timeout bounds each request; 0 means 30 seconds.
	Timeout time.Duration
}

// OptionsFrom reads the notifier's options, refusing an auth_type it
// cannot use or one without what it needs.
func OptionsFrom(cfg *config.Config, logger *slog.Logger) (Options, error) {
	o := Options{
		StatusChanges: cfg.Bool(optStatusChanges),
		DataChanges:   cfg.Bool(optDataChanges),
		Interval:      time.Duration(cfg.Int(optSendEventsInterval)) * time.Second,
		Client: ClientOptions{
			AuthType: cfg.String(optAuthType), AuthURL: cfg.String(optAuthURL),
			Username: cfg.String(optUsername), Password: cfg.String(optPassword), ProjectName: cfg.String(optProjectName),
			UserDomainName: cfg.String(optUserDomainName), UserDomainID: cfg.String(optUserDomainID),
			ProjectDomainName: cfg.String(optProjectDomainName), ProjectDomainID: cfg.String(optProjectDomainID),
			RegionName: cfg.String(optRegionName), EndpointType: cfg.String(optEndpointType),
			Endpoint: cfg.String(optEndpointOverride), CAFile: cfg.String(optCAFile), Insecure: cfg.Bool(optInsecure),
			Timeout: time.Duration(cfg.Int(optTimeout)) * time.Second,
		},
	}
	c := &o.Client
	for _, opt := range []*config.StringOpt{optEndpoint, optEndpointOverride} {
		if v := cfg.String(opt); v != "" {
			if err := httpURL(v); err != nil {
				return o, cfg.Invalid(opt, err)
			}
		}
	}
	switch c.AuthType {
	case "":
		if o.StatusChanges || o.DataChanges {
			logger.Info("not notifying Nova of port changes: [nova] auth_type is not set")
		}
		return o, nil
	case "none", "noauth":
		c.AuthType = "none"
		if c.Endpoint == "" {
			c.Endpoint = cfg.String(optEndpoint)
		}
		if c.Endpoint == "" {
			return o, cfg.Invalid(optEndpoint, errors.New("auth_type = none needs the endpoint of Nova's API"))
		}
	case "password", "v3password":
		c.AuthType = "password"
		for _, req := range []*config.StringOpt{optAuthURL, optUsername, optPassword, optProjectName} {
			if cfg.String(req) == "" {
				return o, cfg.Invalid(req, errors.New("auth_type = password needs auth_url, username, password and project_name"))
			}
		}
		if c.UserDomainName == "" && c.UserDomainID == "" {
			return o, cfg.Invalid(optUserDomainName, errors.New("auth_type = password needs user_domain_name or user_domain_id"))
		}
		if err := httpURL(c.AuthURL); err != nil {
			return o, cfg.Invalid(optAuthURL, err)
		}
	default:
		return o, cfg.Invalid(optAuthType, fmt.Errorf("%q is not supported (Neutrino supports password and none)", c.AuthType))
	}
	return o, nil
}

func httpURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http(s) URL", s)
	}
	return nil
}
