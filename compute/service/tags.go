package service

import (
	"context"
	"slices"

	"imagestack/compute"
)

// tagStates are the vm_states in which a server's tags may change (Nova's
// server_tags _check_instance_in_valid_state); "suspended" is Nova's
// SUSPENDED.
var tagStates = []string{compute.VMActive, compute.VMPaused, "suspended", compute.VMStopped}

// uniqueTags is tags sorted, each once; nil for none.
func uniqueTags(tags []string) []string {
	if len(tags) == 0 {
		return nil
	}
	out := slices.Clone(tags)
	slices.Sort(out)
	return slices.Compact(out)
}

// CheckTags refuses a list of tags Nova's schema refuses: more than
// compute.MaxServerTags, or one that is not ValidTag.
func CheckTags(tags []string) error {
	if len(tags) > compute.MaxServerTags {
		return compute.Errorf(compute.ErrBadRequest, "Invalid input for field/attribute tags. Value: %q. %q is too long", tags, tags)
	}
	for i, t := range tags {
		if !compute.ValidTag(t) {
			return compute.Errorf(compute.ErrBadRequest, "Invalid input for field/attribute tags/%d. Value: %s. %s", i, t, tagProblem(t))
		}
	}
	return nil
}

// tagProblem says why t is no valid tag, as Nova's schema does.
func tagProblem(t string) string {
	switch {
	case t == "":
		return "'' is too short"
	case len([]rune(t)) > compute.MaxTagLength:
		return "'" + t + "' is too long"
	}
	return "'" + t + "' does not match '^[^,/]*$'"
}

// tagged returns a server the caller may see and whose tags rule
// allows ("os_compute_api:os-server-tags:<rule>").
func (s *Service) tagged(ctx context.Context, c Caller, id, rule string) (*compute.Server, error) {
	sv, err := s.Get(ctx, c, id)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(c, "os_compute_api:os-server-tags:"+rule, serverTarget(sv)); err != nil {
		return nil, err
	}
	return sv, nil
}

// Tags lists a server's tags.
func (s *Service) Tags(ctx context.Context, c Caller, id string) ([]string, error) {
	sv, err := s.tagged(ctx, c, id, "index")
	if err != nil {
		return nil, err
	}
	return append([]string{}, sv.Tags...), nil
}

// HasTag answers whether a server has tag: nil, or ErrNotFound.
func (s *Service) HasTag(ctx context.Context, c Caller, id, tag string) error {
	sv, err := s.tagged(ctx, c, id, "show")
	if err != nil {
		return err
	}
	if !slices.Contains(sv.Tags, tag) {
		return compute.Errorf(compute.ErrNotFound, "Server %s has no tag '%s'", id, tag)
	}
	return nil
}

// changeTags applies change to a server's tags when its vm_state allows
// (409 otherwise, naming Nova's action), returning the tags it has then.
func (s *Service) changeTags(ctx context.Context, c Caller, id, rule, action string, change func(sv *compute.Server) error) ([]string, error) {
	if _, err := s.tagged(ctx, c, id, rule); err != nil {
		return nil, err
	}
	sv, err := s.updateIf(ctx, id, func(sv *compute.Server) error {
		if !slices.Contains(tagStates, sv.VMState) {
			return compute.Errorf(compute.ErrConflict, "Cannot '%s' instance %s while it is in vm_state %s", action, id, sv.VMState)
		}
		return change(sv)
	})
	if err != nil {
		return nil, err
	}
	return append([]string{}, sv.Tags...), nil
}

// SetTags replaces a server's tags (tags as CheckTags accepts).
func (s *Service) SetTags(ctx context.Context, c Caller, id string, tags []string) ([]string, error) {
	if err := CheckTags(tags); err != nil {
		return nil, err
	}
	return s.changeTags(ctx, c, id, "update_all", "update tags", func(sv *compute.Server) error {
		sv.Tags = uniqueTags(tags)
		return nil
	})
}

// AddTag adds a tag to a server, reporting whether it is new.
func (s *Service) AddTag(ctx context.Context, c Caller, id, tag string) (bool, error) {
	added := false
	_, err := s.changeTags(ctx, c, id, "update", "update tag", func(sv *compute.Server) error {
		if !compute.ValidTag(tag) {
			return compute.Errorf(compute.ErrBadRequest, "Tag '%s' is invalid. It must be a non empty string without characters '/' and ','. Validation error message: %s", tag, tagProblem(tag))
		}
		if len(sv.Tags) >= compute.MaxServerTags {
			return compute.Errorf(compute.ErrBadRequest, "The number of tags exceeded the per-server limit %d", compute.MaxServerTags)
		}
		if !slices.Contains(sv.Tags, tag) {
			added, sv.Tags = true, uniqueTags(append(sv.Tags, tag))
		}
		return nil
	})
	return added, err
}

// DeleteTag removes a tag from a server; one it has not is ErrNotFound.
func (s *Service) DeleteTag(ctx context.Context, c Caller, id, tag string) error {
	_, err := s.changeTags(ctx, c, id, "delete", "delete tag", func(sv *compute.Server) error {
		i := slices.Index(sv.Tags, tag)
		if i < 0 {
			return compute.Errorf(compute.ErrNotFound, "Instance %s has no tag '%s'", id, tag)
		}
		sv.Tags = slices.Delete(sv.Tags, i, i+1)
		return nil
	})
	return err
}

// DeleteTags removes every tag of a server.
func (s *Service) DeleteTags(ctx context.Context, c Caller, id string) error {
	_, err := s.changeTags(ctx, c, id, "delete_all", "delete tags", func(sv *compute.Server) error {
		sv.Tags = nil
		return nil
	})
	return err
}
