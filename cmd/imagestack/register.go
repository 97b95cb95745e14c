package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/config/clouds"

	"imagestack/common/config"
	"imagestack/policy/external"
)

const registerUsage = `usage: imagestack [-config file] manage register-endpoints [flags]

Puts this cloud's image, compute and network APIs (those with a listen
address; their public_url) into the catalog of the Keystone that
identity.external names: the service of each type (glance, nova, neutron)
is made when missing, and its public, internal and admin endpoints in the
region are made or updated. Running it again changes nothing. It needs an
admin of that Keystone: -os-cloud (clouds.yaml, as the openstack CLI finds
it) or the -os-* flags, which default to the OS_* environment variables.`

// registerFlags are the admin credentials and what to register.
type registerFlags struct {
	cloud, authURL, username, password, projectName, projectID       string
	userDomainName, userDomainID, projectDomainName, projectDomainID string
	regionName, region, services                                     string
}

func parseRegisterFlags(args []string) (registerFlags, error) {
	var f registerFlags
	fs := flag.NewFlagSet("manage register-endpoints", flag.ContinueOnError)
	env := func(p *string, name, envName, usage string) {
		fs.StringVar(p, name, os.Getenv(envName), usage+" ("+envName+")")
	}
	env(&f.cloud, "os-cloud", "OS_CLOUD", "cloud in clouds.yaml")
	env(&f.authURL, "os-auth-url", "OS_AUTH_URL", "Keystone URL")
	env(&f.username, "os-username", "OS_USERNAME", "admin user")
	env(&f.password, "os-password", "OS_PASSWORD", "admin password")
	env(&f.projectName, "os-project-name", "OS_PROJECT_NAME", "project")
	env(&f.projectID, "os-project-id", "OS_PROJECT_ID", "project id")
	env(&f.userDomainName, "os-user-domain-name", "OS_USER_DOMAIN_NAME", "user's domain")
	env(&f.userDomainID, "os-user-domain-id", "OS_USER_DOMAIN_ID", "user's domain id")
	env(&f.projectDomainName, "os-project-domain-name", "OS_PROJECT_DOMAIN_NAME", "project's domain")
	env(&f.projectDomainID, "os-project-domain-id", "OS_PROJECT_DOMAIN_ID", "project's domain id")
	env(&f.regionName, "os-region-name", "OS_REGION_NAME", "region of the identity endpoint the admin calls go to")
	fs.StringVar(&f.region, "region", "", "region of the endpoints registered (default identity.external.region)")
	fs.StringVar(&f.services, "services", "image,compute,network", "service types to register (those whose API listens)")
	fs.Usage = func() { fmt.Fprintln(fs.Output(), registerUsage); fs.PrintDefaults() }
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if fs.NArg() > 0 {
		return f, fmt.Errorf("manage register-endpoints: unexpected arguments %q", fs.Args())
	}
	return f, nil
}

// authOptions are the admin's credentials: a clouds.yaml cloud, or the
// flags.
func (f registerFlags) authOptions() (gophercloud.AuthOptions, gophercloud.EndpointOpts, error) {
	if f.cloud != "" {
		ao, eo, _, err := clouds.Parse(clouds.WithCloudName(f.cloud))
		if f.regionName != "" {
			eo.Region = f.regionName
		}
		return ao, eo, err
	}
	if f.authURL == "" || f.username == "" || f.password == "" {
		return gophercloud.AuthOptions{}, gophercloud.EndpointOpts{}, errors.New(
			"manage register-endpoints: give -os-cloud, or -os-auth-url, -os-username and -os-password (or OS_* variables)")
	}
	ao := gophercloud.AuthOptions{IdentityEndpoint: f.authURL, Username: f.username, Password: f.password,
		DomainName: f.userDomainName, DomainID: f.userDomainID,
		Scope: &gophercloud.AuthScope{ProjectName: f.projectName, ProjectID: f.projectID, DomainName: f.projectDomainName, DomainID: f.projectDomainID}}
	if ao.DomainName == "" && ao.DomainID == "" {
		ao.DomainID = "default"
	}
	if ao.Scope.ProjectID == "" && ao.Scope.DomainName == "" && ao.Scope.DomainID == "" {
		ao.Scope.DomainID = "default"
	}
	return ao, gophercloud.EndpointOpts{Region: f.regionName}, nil
}

// catalogServices are this configuration's services of the types asked for.
func catalogServices(cfg config.Config, types string) ([]external.CatalogService, error) {
	all := map[string]external.CatalogService{
		"image":   {Type: "image", Name: "glance", Description: "Image service (imagestack)", URL: cfg.Image.PublicURL},
		"compute": {Type: "compute", Name: "nova", Description: "Compute service (imagestack)", URL: cfg.Compute.PublicURL + "/v2.1"},
		// Neutron publishes its root; clients add /v2.0.
		"network": {Type: "network", Name: "neutron", Description: "Network service (imagestack)", URL: cfg.Network.PublicURL},
	}
	listens := map[string]string{"image": cfg.Image.Listen, "compute": cfg.Compute.Listen, "network": cfg.Network.Listen}
	var out []external.CatalogService
	for _, t := range strings.Split(types, ",") {
		t = strings.TrimSpace(t)
		s, ok := all[t]
		if !ok {
			return nil, fmt.Errorf("manage register-endpoints: unknown service type %q (image, compute, network)", t)
		}
		if listens[t] != "" {
			out = append(out, s)
		}
	}
	return out, nil
}

// registerEndpoints runs `imagestack manage register-endpoints`.
func registerEndpoints(ctx context.Context, configPath string, args []string) error {
	f, err := parseRegisterFlags(args)
	if err != nil {
		return err
	}
	cfg, err := config.Load(configPath)
	if err != nil {
		return err
	}
	svcs, err := catalogServices(cfg, f.services)
	if err != nil {
		return err
	}
	region := f.region
	if region == "" {
		region = cfg.Identity.External.Region
	}
	ao, eo, err := f.authOptions()
	if err != nil {
		return err
	}
	provider, err := openstack.AuthenticatedClient(ctx, ao)
	if err != nil {
		return fmt.Errorf("manage register-endpoints: log in to Keystone: %w", err)
	}
	identity, err := openstack.NewIdentityV3(provider, eo)
	if err != nil {
		return fmt.Errorf("manage register-endpoints: %w", err)
	}
	changes, err := external.RegisterEndpoints(ctx, identity, region, svcs)
	for _, c := range changes {
		fmt.Println(c)
	}
	if err == nil && len(changes) == 0 {
		fmt.Println("nothing to do: the catalog already lists these endpoints")
	}
	return err
}
