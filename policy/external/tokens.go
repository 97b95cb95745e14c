package external

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"imagestack/policy"
	"imagestack/policy/authn"
)

var (
	_ authn.Validator             = (*Client)(nil)
	_ authn.ServiceTokenValidator = (*Client)(nil)
)

// maxTokenLen bounds what is sent to Keystone as a token (Keystone's own
// max_token_size is 255; Fernet tokens stay below it).
const maxTokenLen = 8192

// Validate returns the credentials of the holder of token: a token Keystone
// does not know, or that has expired, is authn.ErrInvalidToken; a Keystone
// that cannot be asked is ErrUnavailable.
func (c *Client) Validate(ctx context.Context, token string) (policy.Credentials, error) {
	return c.ValidateWithServiceToken(ctx, token, "")
}

// ValidateWithServiceToken is Validate for a request that also carries an
// X-Service-Token, judged as keystonemiddleware does: an invalid service
// token, or (with ServiceTokenRolesRequired) one without any of
// ServiceTokenRoles, refuses the request; one with such a role lets the
// user's token be used past its expiry (allow_expired), as a service
// finishing a long operation on a user's behalf needs.
func (c *Client) ValidateWithServiceToken(ctx context.Context, token, serviceToken string) (policy.Credentials, error) {
	allowExpired := false
	if serviceToken != "" {
		svc, err := c.lookup(ctx, serviceToken, false)
		if err != nil {
			return policy.Credentials{}, fmt.Errorf("service token: %w", err)
		}
		hasRole := slices.ContainsFunc(svc.creds.Roles, func(r string) bool { return slices.Contains(c.cfg.ServiceTokenRoles, r) })
		if c.cfg.ServiceTokenRolesRequired && !hasRole {
			return policy.Credentials{}, fmt.Errorf("%w: the service token has none of the roles %v", authn.ErrInvalidToken, c.cfg.ServiceTokenRoles)
		}
		allowExpired = hasRole
	}
	e, err := c.lookup(ctx, token, allowExpired)
	if err != nil {
		return policy.Credentials{}, err
	}
	return e.creds, nil
}

// lookup returns what Keystone said of token, from the cache when it is
// fresh there; concurrent lookups of one token make one request.
func (c *Client) lookup(ctx context.Context, token string, allowExpired bool) (tokenInfo, error) {
	if !wellFormed(token) {
		return tokenInfo{}, fmt.Errorf("%w: malformed token", authn.ErrInvalidToken)
	}
	key := sha256.Sum256([]byte(token))
	now := c.now()
	if e, ok := c.cache.get(key, now, allowExpired); ok {
		return e.usable(now, allowExpired)
	}
	flight := fmt.Sprintf("%x/%t", key, allowExpired)
	v, err, _ := c.calls.Do(flight, func() (any, error) {
		// Not the first caller's cancellation: others wait on this answer
		// (the client's timeout bounds it). Entries count from the moment
		// Keystone was asked, so that a revocation is seen within CacheTTL
		// however long the answer took.
		asked := c.now()
		info, err := c.fetch(context.WithoutCancel(ctx), token, allowExpired)
		switch {
		case err == nil:
			if c.cfg.CacheTTL > 0 {
				c.cache.put(key, info, asked.Add(c.cfg.CacheTTL))
			}
		case isInvalid(err) && c.cfg.NegativeCacheTTL > 0 && c.cfg.CacheTTL > 0:
			c.cache.put(key, tokenInfo{invalid: true, allowExpired: allowExpired}, asked.Add(c.cfg.NegativeCacheTTL))
		}
		return info, err
	})
	if err != nil {
		return tokenInfo{}, err
	}
	return v.(tokenInfo).usable(c.now(), allowExpired)
}

// wellFormed reports whether token can be a Keystone token: printable
// ASCII, not too long. Anything else is refused without asking Keystone.
func wellFormed(token string) bool {
	if token == "" || len(token) > maxTokenLen {
		return false
	}
	for i := 0; i < len(token); i++ {
		if token[i] < 0x21 || token[i] > 0x7e {
			return false
		}
	}
	return true
}

// fetch asks Keystone about token (GET /v3/auth/tokens, no catalog).
func (c *Client) fetch(ctx context.Context, token string, allowExpired bool) (tokenInfo, error) {
	path := "/auth/tokens?nocatalog"
	if allowExpired {
		path += "&allow_expired=1"
	}
	resp, err := c.get(ctx, path, http.Header{"X-Subject-Token": {token}})
	if err != nil {
		return tokenInfo{}, err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusOK:
	case resp.StatusCode == http.StatusNotFound:
		return tokenInfo{}, fmt.Errorf("%w: Keystone does not know it", authn.ErrInvalidToken)
	default:
		c.log.Error("the external Keystone did not validate a token", "status", resp.StatusCode)
		return tokenInfo{}, fmt.Errorf("%w: token validation answered %s", ErrUnavailable, resp.Status)
	}
	var body tokenBody
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4<<20)).Decode(&body); err != nil {
		return tokenInfo{}, fmt.Errorf("%w: token validation: %w", ErrUnavailable, err)
	}
	return body.Token.info(), nil
}

// tokenInfo is what the cache keeps of a token.
type tokenInfo struct {
	creds   policy.Credentials
	expires time.Time
	// restricted: an application credential's token with access rules,
	// which this service does not evaluate, so refuses.
	restricted bool
	// invalid: Keystone refused the token (a negative entry), asked with
	// allowExpired.
	invalid, allowExpired bool
}

// usable returns the entry's answer at now.
func (t tokenInfo) usable(now time.Time, allowExpired bool) (tokenInfo, error) {
	switch {
	case t.invalid:
		return t, fmt.Errorf("%w: Keystone refused it", authn.ErrInvalidToken)
	case !allowExpired && !now.Before(t.expires):
		return t, fmt.Errorf("%w: expired", authn.ErrInvalidToken)
	case t.restricted:
		return t, fmt.Errorf("%w: application credential access rules are not supported here", authn.ErrInvalidToken)
	}
	return t, nil
}

type ref struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Domain *struct {
		ID string `json:"id"`
	} `json:"domain"`
}

func (r *ref) domainID() string {
	if r == nil || r.Domain == nil {
		return ""
	}
	return r.Domain.ID
}

// tokenBody is Keystone's answer; tokenFields the part of its token that
// makes the credentials.
type tokenBody struct {
	Token tokenFields `json:"token"`
}

type tokenFields struct {
	ExpiresAt time.Time `json:"expires_at"`
	User      ref       `json:"user"`
	Project   *ref      `json:"project"`
	Domain    *ref      `json:"domain"`
	Roles     []named   `json:"roles"`
	AppCred   *struct {
		AccessRules []json.RawMessage `json:"access_rules"`
	} `json:"application_credential"`
}

func (t tokenFields) info() tokenInfo {
	c := policy.Credentials{UserID: t.User.ID, UserDomainID: t.User.domainID()}
	if t.Project != nil {
		c.ProjectID, c.ProjectDomainID = t.Project.ID, t.Project.domainID()
	}
	if t.Domain != nil {
		c.DomainID = t.Domain.ID
	}
	for _, r := range t.Roles {
		c.Roles = append(c.Roles, r.Name)
	}
	return tokenInfo{creds: c, expires: t.ExpiresAt, restricted: t.AppCred != nil && len(t.AppCred.AccessRules) > 0}
}
