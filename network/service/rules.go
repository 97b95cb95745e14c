package service

import (
	"context"
	"errors"
	"net/netip"
	"strconv"
	"strings"

	"imagestack/network"
	"imagestack/policy"
)

// RuleInput is a security group rule create.
type RuleInput struct {
	SecurityGroupID, Direction, EtherType, Protocol string
	PortRangeMin, PortRangeMax                      *int
	RemoteIPPrefix, RemoteGroupID, Description      string
	ProjectID                                       string
}

// protocols are the names Neutron accepts besides numbers.
var protocols = map[string]bool{"tcp": true, "udp": true, "icmp": true, "ipv6-icmp": true, "icmpv6": true, "sctp": true,
	"gre": true, "esp": true, "ah": true, "vrrp": true, "udplite": true, "dccp": true, "igmp": true, "ipip": true, "ipv6-encap": true}

// CreateSecurityGroupRule adds a rule to a group of the caller's project
// (stored and shown, not enforced).
func (s *Service) CreateSecurityGroupRule(ctx context.Context, c policy.Credentials, in RuleInput) (network.SecurityGroupRule, error) {
	g, err := s.visibleGroup(ctx, c, in.SecurityGroupID)
	if err != nil {
		return network.SecurityGroupRule{}, err
	}
	r := network.SecurityGroupRule{ID: newID(), SecurityGroupID: g.ID, ProjectID: g.ProjectID, Direction: in.Direction,
		EtherType: in.EtherType, PortRangeMin: in.PortRangeMin, PortRangeMax: in.PortRangeMax, RemoteGroupID: in.RemoteGroupID,
		Standard: s.stamp(in.Description)}
	if err := s.authorize(c, "create_security_group_rule", groupTarget(g)); err != nil {
		return r, err
	}
	if err := s.checkRule(ctx, &r, in); err != nil {
		return r, err
	}
	for _, o := range g.Rules {
		if sameRule(o, r) {
			return r, network.Errorf(network.ErrConflict, "SecurityGroupRuleExists", "Security group rule already exists. Rule id is %s.", o.ID)
		}
	}
	if err := s.checkQuota(ctx, g.ProjectID, network.QuotaSecurityGroupRule, 1); err != nil {
		return r, err
	}
	return r, s.repo.CreateSecurityGroupRule(ctx, r)
}

func sameRule(a, b network.SecurityGroupRule) bool {
	return a.Direction == b.Direction && a.EtherType == b.EtherType && a.Protocol == b.Protocol &&
		deref(a.PortRangeMin) == deref(b.PortRangeMin) && deref(a.PortRangeMax) == deref(b.PortRangeMax) &&
		a.RemoteIPPrefix == b.RemoteIPPrefix && a.RemoteGroupID == b.RemoteGroupID
}

// checkRule validates a rule as Neutron does.
func (s *Service) checkRule(ctx context.Context, r *network.SecurityGroupRule, in RuleInput) error {
	if r.Direction != "ingress" && r.Direction != "egress" {
		return invalid("%s is not in valid_values", r.Direction)
	}
	if r.EtherType == "" {
		r.EtherType = "IPv4"
	}
	if r.EtherType != "IPv4" && r.EtherType != "IPv6" {
		return invalid("%s is not in valid_values", r.EtherType)
	}
	if err := checkProtocol(r, in.Protocol); err != nil {
		return err
	}
	if in.RemoteIPPrefix != "" && in.RemoteGroupID != "" {
		return network.Errorf(network.ErrBadRequest, "InvalidInput", "Only remote_ip_prefix or remote_group_id may be provided.")
	}
	if in.RemoteIPPrefix != "" {
		p, err := netip.ParsePrefix(in.RemoteIPPrefix)
		if err != nil {
			if a, aerr := netip.ParseAddr(in.RemoteIPPrefix); aerr == nil {
				p, err = a.Prefix(a.BitLen())
			}
		}
		if err != nil || p.Addr().Is4() != (r.EtherType == "IPv4") {
			return invalid("Conflicting value ethertype %s for CIDR %s", r.EtherType, in.RemoteIPPrefix)
		}
		r.RemoteIPPrefix = p.Masked().String()
	}
	if in.RemoteGroupID != "" {
		if _, err := s.repo.GetSecurityGroup(ctx, in.RemoteGroupID); errors.Is(err, network.ErrNotFound) {
			return network.NotFound("SecurityGroup", in.RemoteGroupID)
		} else if err != nil {
			return err
		}
	}
	return nil
}

// checkProtocol normalizes the protocol and checks the port range.
func checkProtocol(r *network.SecurityGroupRule, proto string) error {
	proto = strings.ToLower(proto)
	if proto == "any" {
		proto = ""
	}
	if n, err := strconv.Atoi(proto); err == nil {
		if n < 0 || n > 255 {
			return network.Errorf(network.ErrBadRequest, "SecurityGroupRuleInvalidProtocol", "Security group rule protocol %s not supported.", proto)
		}
	} else if proto != "" && !protocols[proto] {
		return network.Errorf(network.ErrBadRequest, "SecurityGroupRuleInvalidProtocol", "Security group rule protocol %s not supported.", proto)
	}
	r.Protocol = proto
	lo, hi := r.PortRangeMin, r.PortRangeMax
	switch {
	case lo == nil && hi == nil:
		return nil
	case proto == "":
		return network.Errorf(network.ErrBadRequest, "SecurityGroupProtocolRequiredWithPorts", "Must also specify protocol if port range is given.")
	case proto == "tcp" || proto == "udp" || proto == "sctp" || proto == "6" || proto == "17":
		if lo == nil || hi == nil || *lo < 1 || *hi > 65535 || *lo > *hi {
			return network.Errorf(network.ErrBadRequest, "SecurityGroupInvalidPortRange",
				"For TCP/UDP protocols, port_range_min must be <= port_range_max")
		}
	default:
		if lo != nil && (*lo < 0 || *lo > 255) || hi != nil && (*hi < 0 || *hi > 255) {
			return network.Errorf(network.ErrBadRequest, "SecurityGroupInvalidIcmpValue", "Invalid value for ICMP type or code.")
		}
	}
	return nil
}

func (s *Service) visibleRule(ctx context.Context, c policy.Credentials, id string) (network.SecurityGroupRule, error) {
	r, err := s.repo.GetSecurityGroupRule(ctx, id)
	if errors.Is(err, network.ErrNotFound) || err == nil && !s.may(c, "get_security_group_rule", ruleTarget(r)) {
		return network.SecurityGroupRule{}, network.NotFound("SecurityGroupRule", id)
	}
	return r, err
}

func ruleTarget(r network.SecurityGroupRule) policy.Target {
	return policy.Target{"project_id": r.ProjectID, "tenant_id": r.ProjectID}
}

// GetSecurityGroupRule shows a rule.
func (s *Service) GetSecurityGroupRule(ctx context.Context, c policy.Credentials, id string) (network.SecurityGroupRule, error) {
	return s.visibleRule(ctx, c, id)
}

// ListSecurityGroupRules lists the rules the caller may see (the caller's
// default group made first, as for the groups).
func (s *Service) ListSecurityGroupRules(ctx context.Context, c policy.Credentials) ([]network.SecurityGroupRule, error) {
	if c.ProjectID != "" {
		if _, err := s.defaultGroup(ctx, c.ProjectID); err != nil {
			return nil, err
		}
	}
	rules, err := s.repo.ListSecurityGroupRules(ctx)
	if err != nil {
		return nil, err
	}
	return visible(rules, func(r network.SecurityGroupRule) bool {
		return s.may(c, "get_security_group_rule", ruleTarget(r))
	}), nil
}

// DeleteSecurityGroupRule deletes a rule.
func (s *Service) DeleteSecurityGroupRule(ctx context.Context, c policy.Credentials, id string) error {
	r, err := s.visibleRule(ctx, c, id)
	if err != nil {
		return err
	}
	if err := s.authorize(c, "delete_security_group_rule", ruleTarget(r)); err != nil {
		return err
	}
	return s.repo.DeleteSecurityGroupRule(ctx, id)
}
