package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"imagestack/glance"
)

// MetadefNamespaceDoc is a namespace with its contents as JSON carries it:
// the body of POST and PUT /v2/metadefs/namespaces, and each of Glance's
// standard namespace files (etc/metadefs, which Debian's glance-common
// installs in /etc/glance/metadefs).
type MetadefNamespaceDoc struct {
	Namespace    string                            `json:"namespace"`
	DisplayName  *string                           `json:"display_name"`
	Description  *string                           `json:"description"`
	Visibility   *string                           `json:"visibility"`
	Protected    *bool                             `json:"protected"`
	Owner        *string                           `json:"owner"`
	Associations []MetadefAssociationDoc           `json:"resource_type_associations"`
	Properties   map[string]glance.MetadefProperty `json:"properties"`
	Objects      []glance.MetadefObject            `json:"objects"`
	Tags         []struct {
		Name string `json:"name"`
	} `json:"tags"`
}

// MetadefAssociationDoc is a resource type association as JSON carries it.
type MetadefAssociationDoc struct {
	Name             string `json:"name"`
	Prefix           string `json:"prefix"`
	PropertiesTarget string `json:"properties_target"`
}

// Input is the document as a namespace to create or update.
func (f MetadefNamespaceDoc) Input() MetadefNamespaceInput {
	in := MetadefNamespaceInput{Namespace: f.Namespace, DisplayName: f.DisplayName, Description: f.Description,
		Visibility: f.Visibility, Protected: f.Protected, Owner: f.Owner, Properties: f.Properties, Objects: f.Objects}
	for _, a := range f.Associations {
		in.Associations = append(in.Associations, glance.MetadefAssociation{Name: a.Name, Prefix: a.Prefix, PropertiesTarget: a.PropertiesTarget})
	}
	for _, t := range f.Tags {
		in.Tags = append(in.Tags, t.Name)
	}
	return in
}

// LoadMetadefs loads every *.json namespace file of dir, in name order,
// into repo as `glance-manage db_load_metadefs` does: a namespace that
// exists is kept as it is, unless overwrite, which replaces it with the
// file's. It is an operator command: no caller, no policy. report receives
// one line per file. A bad file stops the load with an error naming it;
// namespaces loaded before it stay.
func LoadMetadefs(ctx context.Context, repo glance.MetadefRepository, dir string, overwrite bool, report func(string)) error {
	s := &Service{metadefs: repo, now: time.Now}
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("load metadefs: no *.json files in %s", dir)
	}
	sort.Strings(files)
	for _, path := range files {
		msg, err := s.loadMetadefFile(ctx, path, overwrite)
		if err != nil {
			return fmt.Errorf("load metadefs: %s: %w", path, err)
		}
		report(msg)
	}
	return nil
}

// loadMetadefFile loads one file and says what it did.
func (s *Service) loadMetadefFile(ctx context.Context, path string, overwrite bool) (string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	var f MetadefNamespaceDoc
	if err := json.Unmarshal(raw, &f); err != nil {
		return "", err
	}
	// Owned by admin, and private unless the file says otherwise, as
	// glance-manage loads them.
	in, owner, private := f.Input(), "admin", "private"
	if in.Owner == nil {
		in.Owner = &owner
	}
	if in.Visibility == nil {
		in.Visibility = &private
	}
	ns, err := s.newNamespace(Caller{}, in)
	if err != nil {
		return "", err
	}
	contents, err := s.contents(in)
	if err != nil {
		return "", err
	}
	_, err = s.metadefs.GetNamespace(ctx, ns.Namespace)
	exists := err == nil
	switch {
	case err != nil && !errors.Is(err, glance.ErrNotFound):
		return "", err
	case exists && !overwrite:
		return fmt.Sprintf("kept namespace %s (exists; -overwrite replaces it)", ns.Namespace), nil
	case exists:
		if err := s.metadefs.DeleteNamespace(ctx, ns.Namespace); err != nil {
			return "", err
		}
	}
	if err := s.metadefs.CreateNamespace(ctx, ns, contents); err != nil {
		return "", err
	}
	if exists {
		return fmt.Sprintf("replaced namespace %s from %s", ns.Namespace, filepath.Base(path)), nil
	}
	return fmt.Sprintf("loaded namespace %s from %s", ns.Namespace, filepath.Base(path)), nil
}

// HasMetadefNamespaces reports whether repo holds any namespace (the
// server loads the standard ones on its first start only).
func HasMetadefNamespaces(ctx context.Context, repo glance.MetadefRepository) (bool, error) {
	nss, err := repo.ListNamespaces(ctx, glance.MetadefNamespaceQuery{IsAdmin: true, Limit: 1})
	return len(nss) > 0, err
}
