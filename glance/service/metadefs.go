package service

import (
	"imagestack/policy"
)

// MetadefNamespace is one metadata definition namespace (Glance's
// /v2/metadefs/namespaces), a catalog of properties that clients such as
// Horizon offer when editing metadata.
type MetadefNamespace struct {
	Namespace   string
	DisplayName string
	Description string
	Visibility  string // public or private
	Protected   bool
	Owner       string
}

// MetadefNamespaces lists the namespaces the caller may see for GET
// /v2/metadefs/namespaces (policy get_metadef_namespaces). This service
// loads no definitions, as a Glance whose operator never ran
// `glance-manage db load_metadefs`: the list is empty.
func (s *Service) MetadefNamespaces(c Caller) ([]MetadefNamespace, error) {
	t := policy.Target{"project_id": c.Project()}
	if err := s.authorize(c, "get_metadef_namespaces", t, "list metadata definition namespaces"); err != nil {
		return nil, err
	}
	return []MetadefNamespace{}, nil
}
