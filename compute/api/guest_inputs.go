package api

import (
	"encoding/base64"
	"encoding/json"
	"net/netip"
	"regexp"

	"imagestack/compute"
	"imagestack/compute/service"
)

// guestInputs are the parts of POST /servers that reach the guest:
// networks, user data, password, access addresses, zone, config drive.
type guestInputs struct {
	Networks         json.RawMessage `json:"networks"`
	UserData         *string         `json:"user_data"`
	AdminPass        *string         `json:"adminPass"`
	AccessIPv4       *string         `json:"accessIPv4"`
	AccessIPv6       *string         `json:"accessIPv6"`
	AvailabilityZone *string         `json:"availability_zone"`
	ConfigDrive      json.RawMessage `json:"config_drive"`
	SecurityGroups   json.RawMessage `json:"security_groups"`
}

// networkEntry is one item of "networks" (Nova 2.1's schema).
type networkEntry struct {
	UUID    *string `json:"uuid"`
	Port    *string `json:"port"`
	FixedIP *string `json:"fixed_ip"`
	Tag     *string `json:"tag"` // device tag (2.32, 2.42): accepted, not shown to guests
}

// uuidLike is what Nova takes for a network or port id (dashes optional).
var uuidLike = regexp.MustCompile(`^(?i)[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$`)

// apply validates the inputs as Nova's schema and API do and copies them
// into req, or returns the message of a 400.
func (g *guestInputs) apply(req *service.CreateRequest) string {
	if msg := g.applyNetworks(req); msg != "" {
		return msg
	}
	if msg := g.applySecurityGroups(req); msg != "" {
		return msg
	}
	if g.UserData != nil {
		data, msg := decodeUserData(g.UserData)
		if msg != "" {
			return msg
		}
		req.UserData = data
	}
	if g.AdminPass != nil {
		req.AdminPass = *g.AdminPass
	}
	v4, v6, msg := optionalAccessIPs(g.AccessIPv4, g.AccessIPv6)
	if msg != "" {
		return msg
	}
	req.AccessIPv4, req.AccessIPv6 = deref(v4), deref(v6)
	if g.AvailabilityZone != nil {
		req.AvailabilityZone = *g.AvailabilityZone
	}
	if len(g.ConfigDrive) > 0 {
		b, ok := novaBool(g.ConfigDrive)
		if !ok {
			return "Invalid input for field/attribute config_drive. Value: " + string(g.ConfigDrive) + ". It is not a boolean."
		}
		req.ConfigDrive = b
	}
	return ""
}

// accessIP reads accessIPv4 or accessIPv6 (Nova's ipv4 and ipv6 formats).
func accessIP(v, dst *string, field string, is func(netip.Addr) bool) string {
	if v == nil {
		return ""
	}
	ip, err := netip.ParseAddr(*v)
	if err != nil || !is(ip) {
		return "Invalid input for field/attribute " + field + ". Value: " + clip(*v) + ". It is not a valid address."
	}
	*dst = ip.String()
	return ""
}

// optionalAccessIPs validates the accessIPv4 and accessIPv6 of an update
// or rebuild: nil stays nil (unchanged), or the message of a 400.
func optionalAccessIPs(v4, v6 *string) (*string, *string, string) {
	var out4, out6 *string
	if v4 != nil {
		out4 = new(string)
		if msg := accessIP(v4, out4, "accessIPv4", netip.Addr.Is4); msg != "" {
			return nil, nil, msg
		}
	}
	if v6 != nil {
		out6 = new(string)
		if msg := accessIP(v6, out6, "accessIPv6", netip.Addr.Is6); msg != "" {
			return nil, nil, msg
		}
	}
	return out4, out6, ""
}

// deref is *p, or "" for nil.
func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// applyNetworks reads "networks": absent means auto; at 2.1 it is a list
// of entries each naming a network (uuid, with an optional fixed_ip) or a
// port.
func (g *guestInputs) applyNetworks(req *service.CreateRequest) string {
	req.Networks = compute.NetworksAuto
	if len(g.Networks) == 0 || string(g.Networks) == "null" {
		return ""
	}
	var choice string
	if json.Unmarshal(g.Networks, &choice) == nil {
		return networkChoice(choice, req)
	}
	var entries []networkEntry
	if err := json.Unmarshal(g.Networks, &entries); err != nil {
		return "Invalid input for field/attribute networks. Value: " + clip(string(g.Networks)) + ". It is not an array of networks."
	}
	req.Networks = compute.NetworksListed
	for _, e := range entries {
		var nr compute.NetworkRequest
		switch {
		case e.Port != nil && *e.Port != "":
			if !uuidLike.MatchString(*e.Port) {
				return "Invalid input for field/attribute port. Value: " + clip(*e.Port) + ". It is not a valid UUID."
			}
			nr.PortID = *e.Port
		case e.UUID != nil:
			if !uuidLike.MatchString(*e.UUID) {
				return "Bad networks format: network uuid is not in proper format (" + clip(*e.UUID) + ")"
			}
			nr.NetworkID = *e.UUID
		default:
			return "Bad network format: missing 'uuid'"
		}
		if e.FixedIP != nil {
			ip, err := netip.ParseAddr(*e.FixedIP)
			if err != nil {
				return "Invalid fixed IP address (" + clip(*e.FixedIP) + ")"
			}
			nr.FixedIP = ip.String()
		}
		req.NetworkRequests = append(req.NetworkRequests, nr)
	}
	return ""
}

// decodeUserData decodes user data as Nova's schema takes it: base64 of
// at most MaxUserData characters; nil is none.
func decodeUserData(text *string) ([]byte, string) {
	if text == nil {
		return nil, ""
	}
	if len(*text) > compute.MaxUserData {
		return nil, "Invalid input for field/attribute user_data. Value: is too long (at most 65535 characters)."
	}
	data, err := base64.StdEncoding.DecodeString(*text)
	if err != nil {
		return nil, "User data needs to be valid base 64."
	}
	return data, ""
}

// networkChoice reads "networks" given as a string (microversion 2.37):
// "auto" or "none".
func networkChoice(choice string, req *service.CreateRequest) string {
	switch choice {
	case "auto":
		req.Networks = compute.NetworksAuto
	case "none":
		req.Networks = compute.NetworksNone
	default:
		return "Invalid input for field/attribute networks. Value: " + clip(choice) + ". It is not 'auto' or 'none'."
	}
	return ""
}

// clip shortens client text quoted in a message.
func clip(s string) string { return compute.Clip(s) }

// applySecurityGroups reads "security_groups": [{"name": <name or id>}],
// the groups of the server's new ports (Horizon sends ids as names).
func (g *guestInputs) applySecurityGroups(req *service.CreateRequest) string {
	if len(g.SecurityGroups) == 0 || string(g.SecurityGroups) == "null" {
		return ""
	}
	var entries []struct {
		Name *string `json:"name"`
	}
	if err := json.Unmarshal(g.SecurityGroups, &entries); err != nil {
		return "Invalid input for field/attribute security_groups. Value: " + clip(string(g.SecurityGroups)) + ". It is not an array of security groups."
	}
	req.SecurityGroups = make([]string, 0, len(entries))
	for _, e := range entries {
		if e.Name == nil || *e.Name == "" || len(*e.Name) > 255 {
			return "Invalid input for field/attribute name. Value: " + clip(string(g.SecurityGroups)) + ". A security group needs a name of 1 to 255 characters."
		}
		req.SecurityGroups = append(req.SecurityGroups, *e.Name)
	}
	return ""
}
