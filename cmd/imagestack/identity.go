package main

import (
	"context"
	"log/slog"
	"net/http"

	"gorm.io/gorm"

	"imagestack/common/config"
	"imagestack/compute"
	"imagestack/policy"
	"imagestack/policy/authn"
	"imagestack/policy/external"
	"imagestack/policy/keystone"
	identityapi "imagestack/policy/keystone/api"
)

// identityParts is what the other families get of the identity service,
// embedded or external.
type identityParts struct {
	tokens authn.Validator
	// challengeURI is where 401 answers send clients (WWW-Authenticate).
	challengeURI string
	// projects answers compute's project checks; owner finds the admin
	// project (the default network's owner).
	projects compute.Projects
	owner    adminProject
	// limits reads Keystone's unified limits for the services that
	// enforce them (image.use_keystone_limits, compute.quota_driver); nil
	// when there are none to read.
	limits limitReader
	// handler is the embedded identity API; nil in external mode.
	handler http.Handler
}

// adminProject finds the id of the project named admin in the default
// domain ("" when there is none).
type adminProject interface {
	AdminProjectID(ctx context.Context) (string, error)
}

// identityListen is the identity API's address: none in external mode.
func identityListen(cfg config.Config) string {
	if cfg.Identity.Mode == "external" {
		return ""
	}
	return cfg.Identity.Listen
}

// startIdentityMode starts the embedded identity service, or in external
// mode a client of the configured Keystone.
func startIdentityMode(ctx context.Context, cfg config.Config, gdb *gorm.DB, authz *policy.Enforcer, log *slog.Logger) (identityParts, error) {
	if cfg.Identity.Mode == "external" {
		ext := externalClient(cfg.Identity.External, log)
		log.Info("identity: tokens are validated by an external Keystone", "auth_url", cfg.Identity.External.AuthURL,
			"cache_ttl", cfg.Identity.External.CacheTTL.Std().String())
		return identityParts{tokens: ext, challengeURI: cfg.Identity.External.WWWAuthenticateURI,
			projects: ext, owner: externalAdmin{ext}, limits: ext}, nil
	}
	identity, store, err := startIdentity(ctx, cfg, gdb, authz, log)
	if err != nil {
		return identityParts{}, err
	}
	return identityParts{tokens: identityapi.Validator(identity), challengeURI: cfg.Identity.PublicURL,
		projects: keystoneProjects{store}, owner: keystoneProjects{store}, limits: identity,
		handler: identityapi.New(identity, cfg.Identity.PublicURL, log).Handler()}, nil
}

// externalClient is the client of the Keystone identity.external names.
func externalClient(e config.ExternalConfig, log *slog.Logger) *external.Client {
	return external.New(external.Config{AuthURL: e.AuthURL, Username: e.Username, Password: e.Password,
		ProjectName: e.ProjectName, UserDomainName: e.UserDomainName, ProjectDomainName: e.ProjectDomainName,
		CacheTTL: e.CacheTTL.Std(), NegativeCacheTTL: e.NegativeCacheTTL.Std(), CacheSize: e.CacheSize,
		Timeout: e.Timeout.Std(), ServiceTokenRoles: e.ServiceTokenRoles, ServiceTokenRolesRequired: e.ServiceTokenRolesRequired,
		Region: e.Region, LimitsCacheTTL: e.LimitsCacheTTL.Std(), LimitsSystemScope: e.LimitsSystemScope},
		log.With("component", "external-keystone"))
}

// externalAdmin finds the admin project in the external Keystone.
type externalAdmin struct{ c *external.Client }

func (e externalAdmin) AdminProjectID(ctx context.Context) (string, error) {
	return e.c.FindProject(ctx, keystone.DefaultDomainID, "admin")
}
