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

// metadefFile is one of Glance's standard namespace files (etc/metadefs,
// which Debian's glance-common installs in /etc/glance/metadefs): a
// namespace with its contents, as the namespace create API takes it.
type metadefFile struct {
	Namespace   string                            `json:"namespace"`
	DisplayName *string                           `json:"display_name"`
	Description *string                           `json:"description"`
	Visibility  *string                           `json:"visibility"`
	Protected   *bool                             `json:"protected"`
	Owner       *string                           `json:"owner"`
	RawAssocs   []map[string]string               `json:"resource_type_associations"`
	Properties  map[string]glance.MetadefProperty `json:"properties"`
	Objects     []glance.MetadefObject            `json:"objects"`
	Tags        []struct {
		Name string `json:"name"`
	} `json:"tags"`
}

// input is the file as a namespace to create: owner "admin" and private
// unless the file says otherwise, as glance-manage loads them.
func (f metadefFile) input() MetadefNamespaceInput {
	owner, private := "admin", "private"
	in := MetadefNamespaceInput{Namespace: f.Namespace, DisplayName: f.DisplayName, Description: f.Description,
		Visibility: f.Visibility, Protected: f.Protected, Owner: f.Owner, Properties: f.Properties, Objects: f.Objects}
	if in.Owner == nil {
		in.Owner = &owner
	}
	if in.Visibility == nil {
		in.Visibility = &private
	}
	for _, a := range f.RawAssocs {
		in.Associations = append(in.Associations, glance.MetadefAssociation{Name: a["name"], Prefix: a["prefix"], PropertiesTarget: a["properties_target"]})
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
	var f metadefFile
	if err := json.Unmarshal(raw, &f); err != nil {
		return "", err
	}
	in := f.input()
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
