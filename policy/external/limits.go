package external

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// ProjectLimits returns the unified limits in force for projectID of the
// named resources of the catalog service of type serviceType, read from
// Keystone as oslo.limit reads them for Glance and Nova: the project's own
// limit, else the registered default (one of this region before one of no
// region). Resources with neither are left out: unlimited. What Keystone
// said is reused for LimitsCacheTTL; no answer from Keystone is
// ErrUnavailable, never "unlimited".
func (c *Client) ProjectLimits(ctx context.Context, projectID, serviceType string, resources []string) (map[string]int64, error) {
	reg, err := c.cachedLimits(ctx, "service\x00"+serviceType, func() (limitSet, error) {
		return c.registeredLimits(ctx, serviceType)
	})
	if err != nil {
		return nil, err
	}
	own := limitSet{}
	if projectID != "" && reg.serviceID != "" {
		own, err = c.cachedLimits(ctx, "project\x00"+reg.serviceID+"\x00"+projectID, func() (limitSet, error) {
			return c.projectOwnLimits(ctx, reg.serviceID, projectID)
		})
		if err != nil {
			return nil, err
		}
	}
	out := map[string]int64{}
	for _, r := range resources {
		if v, ok := own.values[r]; ok {
			out[r] = v
		} else if v, ok := reg.values[r]; ok {
			out[r] = v
		}
	}
	return out, nil
}

// limitSet is one answer of Keystone: the catalog service's id (for
// registered limits) and each resource's limit in this region.
type limitSet struct {
	serviceID string
	values    map[string]int64
}

// registeredLimits finds the service of type serviceType and its
// registered limits; a type the catalog lacks has none.
func (c *Client) registeredLimits(ctx context.Context, serviceType string) (limitSet, error) {
	id, err := c.findService(ctx, serviceType)
	if err != nil || id == "" {
		return limitSet{values: map[string]int64{}}, err
	}
	var regs struct {
		Limits []struct {
			ResourceName string `json:"resource_name"`
			RegionID     string `json:"region_id"`
			DefaultLimit int64  `json:"default_limit"`
		} `json:"registered_limits"`
	}
	if err := c.getJSON(ctx, "/registered_limits?"+url.Values{"service_id": {id}}.Encode(), &regs); err != nil {
		return limitSet{}, err
	}
	set := limitSet{serviceID: id, values: map[string]int64{}}
	for _, l := range regs.Limits {
		if l.RegionID == c.cfg.Region || (l.RegionID == "" && !hasKey(set.values, l.ResourceName)) {
			set.values[l.ResourceName] = l.DefaultLimit
		}
	}
	return set, nil
}

// projectOwnLimits reads the limits set for projectID itself.
func (c *Client) projectOwnLimits(ctx context.Context, serviceID, projectID string) (limitSet, error) {
	var own struct {
		Limits []struct {
			ResourceName  string `json:"resource_name"`
			RegionID      string `json:"region_id"`
			ProjectID     string `json:"project_id"`
			ResourceLimit int64  `json:"resource_limit"`
		} `json:"limits"`
	}
	q := url.Values{"service_id": {serviceID}, "project_id": {projectID}}
	if err := c.getJSON(ctx, "/limits?"+q.Encode(), &own); err != nil {
		return limitSet{}, err
	}
	set := limitSet{serviceID: serviceID, values: map[string]int64{}}
	for _, l := range own.Limits {
		if l.ProjectID == projectID && (l.RegionID == c.cfg.Region || (l.RegionID == "" && !hasKey(set.values, l.ResourceName))) {
			set.values[l.ResourceName] = l.ResourceLimit
		}
	}
	return set, nil
}

// serviceNames are the names register-endpoints gives this cloud's
// services: with several services of a type, the one so named is ours (as
// oslo.limit's endpoint_service_name).
var serviceNames = map[string]string{"image": "glance", "compute": "nova", "network": "neutron"}

// findService returns the id of the catalog service of type serviceType
// ("" when there is none): the only one, else the one of our name.
func (c *Client) findService(ctx context.Context, serviceType string) (string, error) {
	var svcs struct {
		Services []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"services"`
	}
	if err := c.getJSON(ctx, "/services?"+url.Values{"type": {serviceType}}.Encode(), &svcs); err != nil {
		return "", err
	}
	switch len(svcs.Services) {
	case 0:
		c.log.Warn("the external Keystone has no service of this type: its resources are unlimited", "type", serviceType)
		return "", nil
	case 1:
		return svcs.Services[0].ID, nil
	}
	for _, s := range svcs.Services {
		if s.Name == serviceNames[serviceType] {
			return s.ID, nil
		}
	}
	c.log.Error("the external Keystone has several services of this type and none of our name: unified limits cannot be read",
		"type", serviceType, "name", serviceNames[serviceType])
	return "", fmt.Errorf("%w: %d services of type %s, none named %s", ErrUnavailable, len(svcs.Services), serviceType, serviceNames[serviceType])
}

func hasKey(m map[string]int64, k string) bool { _, ok := m[k]; return ok }

// getJSON reads path as the service (system-scoped with
// LimitsSystemScope) into out; anything but 200 is ErrUnavailable.
func (c *Client) getJSON(ctx context.Context, path string, out any) error {
	resp, err := c.getAs(ctx, path, nil, c.cfg.LimitsSystemScope)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		c.log.Error("the external Keystone refused to list unified limits to this service", "path", path, "status", resp.StatusCode)
		return fmt.Errorf("%w: GET %s answered %s", ErrUnavailable, path, resp.Status)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4<<20)).Decode(out); err != nil {
		return fmt.Errorf("%w: GET %s: %w", ErrUnavailable, path, err)
	}
	return nil
}

// cachedLimits returns the set under key while it is fresh, else reads it
// with fetch (one read at a time per key) and keeps it for LimitsCacheTTL.
func (c *Client) cachedLimits(ctx context.Context, key string, fetch func() (limitSet, error)) (limitSet, error) {
	ttl := c.cfg.LimitsCacheTTL
	if set, ok := c.limits.get(key, c.now()); ok && ttl > 0 {
		return set, nil
	}
	v, err, _ := c.calls.Do("limits\x00"+key, func() (any, error) {
		set, err := fetch()
		if err == nil && ttl > 0 {
			now := c.now()
			c.limits.put(key, set, now, now.Add(ttl))
		}
		return set, err
	})
	if err != nil {
		return limitSet{}, err
	}
	return v.(limitSet), nil
}

// limitCache keeps limit sets until their deadline, at most size of them:
// when full, expired ones go first, then all.
type limitCache struct {
	mu      sync.Mutex
	size    int
	entries map[string]limitEntry
}

type limitEntry struct {
	set      limitSet
	deadline time.Time
}

func newLimitCache(size int) *limitCache {
	return &limitCache{size: max(size, 1), entries: map[string]limitEntry{}}
}

func (l *limitCache) get(key string, now time.Time) (limitSet, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.entries[key]
	if !ok || !now.Before(e.deadline) {
		return limitSet{}, false
	}
	return e.set, true
}

func (l *limitCache) put(key string, set limitSet, now, deadline time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.entries) >= l.size {
		for k, e := range l.entries {
			if !now.Before(e.deadline) {
				delete(l.entries, k)
			}
		}
		if len(l.entries) >= l.size {
			clear(l.entries)
		}
	}
	l.entries[key] = limitEntry{set: set, deadline: deadline}
}
