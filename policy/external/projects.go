package external

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// ProjectExists asks Keystone, as this service, whether project id exists
// (what Nova checks before flavor access and quota changes): 404 is no; a
// 403 (this service may not read projects) is yes, as Nova takes it; no
// answer is an error.
func (c *Client) ProjectExists(ctx context.Context, id string) (bool, error) {
	resp, err := c.get(ctx, "/projects/"+url.PathEscape(id), nil)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return true, nil
	case http.StatusNotFound:
		return false, nil
	case http.StatusForbidden:
		c.log.Info("this service may not read projects in the external Keystone; taking the project id as given", "project", id)
		return true, nil
	}
	return false, fmt.Errorf("%w: project lookup answered %s", ErrUnavailable, resp.Status)
}

// FindProject returns the id of the project named name in the domain of
// id domainID, or "" when there is none.
func (c *Client) FindProject(ctx context.Context, domainID, name string) (string, error) {
	q := url.Values{"name": {name}, "domain_id": {domainID}}
	resp, err := c.get(ctx, "/projects?"+q.Encode(), nil)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%w: project list answered %s", ErrUnavailable, resp.Status)
	}
	var out struct {
		Projects []struct {
			ID string `json:"id"`
		} `json:"projects"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&out); err != nil {
		return "", fmt.Errorf("%w: project list: %w", ErrUnavailable, err)
	}
	if len(out.Projects) == 0 {
		return "", nil
	}
	return out.Projects[0].ID, nil
}
