package configdrive

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"strings"
	"unicode/utf16"

	"imagestack/compute"
)

// Nova's metadata versions (nova/api/metadata/base.py OPENSTACK_VERSIONS):
// each dated folder holds what that version defined, "latest" the newest.
const (
	folsom    = "2012-08-10"
	grizzly   = "2013-04-04" // random_seed
	havana    = "2013-10-17" // vendor_data.json
	liberty   = "2015-10-15" // project_id, network_data.json
	newtonOne = "2016-06-30" // devices
	newtonTwo = "2016-10-06" // vendor_data2.json
	victoria  = "2020-10-14" // dedicated_cpus
	epoxy     = "2025-04-04"
)

// versions are the folders under openstack/, oldest first; "latest" is
// the newest dated one. Dates compare as strings.
var versions = []string{folsom, grizzly, havana, liberty, newtonOne, newtonTwo,
	"2017-02-22", "2018-08-27", victoria, epoxy}

// since reports whether folder (a date or "latest") has what version added.
func since(folder, version string) bool { return folder == "latest" || folder >= version }

// keyJSON is one entry of meta_data.json's "keys".
type keyJSON struct {
	Name string `json:"name"`
	Type string `json:"type"`
	Data string `json:"data"`
}

// metaDataJSON is meta_data.json, its fields in the order Nova writes them
// (_metadata_as_json); fields a folder's version lacks stay nil.
type metaDataJSON struct {
	UUID             string            `json:"uuid"`
	Meta             map[string]string `json:"meta,omitempty"`
	AdminPass        string            `json:"admin_pass,omitempty"`
	PublicKeys       map[string]string `json:"public_keys,omitempty"`
	Keys             []keyJSON         `json:"keys,omitempty"`
	Hostname         string            `json:"hostname"`
	Name             string            `json:"name"`
	LaunchIndex      int               `json:"launch_index"`
	AvailabilityZone *string           `json:"availability_zone"`
	RandomSeed       *string           `json:"random_seed,omitempty"`
	ProjectID        *string           `json:"project_id,omitempty"`
	Devices          *[]struct{}       `json:"devices,omitempty"`
	DedicatedCPUs    *[]int            `json:"dedicated_cpus,omitempty"`
}

// metaData renders meta_data.json for one folder.
func metaData(md Metadata, folder string) ([]byte, error) {
	m := metaDataJSON{UUID: md.UUID, AdminPass: md.AdminPass, Hostname: md.Hostname,
		Name: md.Name, LaunchIndex: md.LaunchIndex}
	if md.Domain != "" {
		m.Hostname += "." + md.Domain
	}
	if len(md.Meta) > 0 {
		m.Meta = md.Meta
	}
	if md.KeyName != "" {
		m.PublicKeys = map[string]string{md.KeyName: md.PublicKey}
		m.Keys = []keyJSON{{Name: md.KeyName, Type: md.KeyType, Data: md.PublicKey}}
	}
	if md.AvailabilityZone != "" {
		m.AvailabilityZone = &md.AvailabilityZone
	}
	if since(folder, grizzly) {
		seed := make([]byte, 512)
		if _, err := rand.Read(seed); err != nil {
			return nil, err
		}
		s := base64.StdEncoding.EncodeToString(seed)
		m.RandomSeed = &s
	}
	if since(folder, liberty) {
		m.ProjectID = &md.ProjectID
	}
	if since(folder, newtonOne) {
		m.Devices = &[]struct{}{}
	}
	if since(folder, victoria) {
		m.DedicatedCPUs = &[]int{}
	}
	return pythonJSON(m)
}

// linkJSON, networkJSON, routeJSON and serviceJSON make network_data.json
// (nova/virt/netutils.py get_network_metadata), fields in Nova's order.
type linkJSON struct {
	ID         string `json:"id"`
	VIFID      string `json:"vif_id"`
	Type       string `json:"type"`
	MTU        *int   `json:"mtu"`
	MACAddress string `json:"ethernet_mac_address"`
}

type networkJSON struct {
	ID        string         `json:"id"`
	Type      string         `json:"type"`
	Link      string         `json:"link"`
	IPAddress string         `json:"ip_address,omitempty"`
	Netmask   string         `json:"netmask,omitempty"`
	Routes    *[]routeJSON   `json:"routes,omitempty"`
	NetworkID string         `json:"network_id"`
	Services  *[]serviceJSON `json:"services,omitempty"`
}

type routeJSON struct {
	Network string `json:"network"`
	Netmask string `json:"netmask"`
	Gateway string `json:"gateway"`
}

type serviceJSON struct {
	Type    string `json:"type"`
	Address string `json:"address"`
}

type networkDataJSON struct {
	Links    []linkJSON    `json:"links"`
	Networks []networkJSON `json:"networks"`
	Services []serviceJSON `json:"services"`
}

// vifType is the link type of every NIC: imagestack plugs taps into Linux
// bridges, Nova's VIF_TYPE_BRIDGE.
const vifType = "bridge"

// networkData renders network_data.json; "{}" for a server without NICs,
// as Nova writes it for an empty network info cache.
func networkData(md Metadata) ([]byte, error) {
	if len(md.NICs) == 0 {
		return []byte("{}"), nil
	}
	out := networkDataJSON{Links: []linkJSON{}, Networks: []networkJSON{}, Services: []serviceJSON{}}
	ifc := -1
	for _, nic := range md.NICs {
		v4, v6 := firstIP(nic, 4), firstIP(nic, 6)
		if v4 == nil && v6 == nil {
			continue // a network without subnets: Nova skips the VIF
		}
		ifc++
		link := linkJSON{ID: nic.Device, VIFID: nic.PortID, Type: vifType, MACAddress: nic.MAC}
		if link.ID == "" {
			link.ID = fmt.Sprintf("interface%d", ifc)
		}
		if !md.DHCP && nic.MTU > 0 {
			mtu := nic.MTU // a subnet with a DHCP server: Nova leaves mtu null
			link.MTU = &mtu
		}
		out.Links = append(out.Links, link)
		for _, ip := range []*compute.FixedIP{v4, v6} {
			if ip == nil {
				continue
			}
			n, err := network(md, nic, *ip, len(out.Networks), link.ID)
			if err != nil {
				return nil, err
			}
			out.Networks = append(out.Networks, n)
			for _, s := range dnsServices(*ip) {
				if !slices.Contains(out.Services, s) {
					out.Services = append(out.Services, s)
				}
			}
		}
	}
	return pythonJSON(out)
}

// firstIP is the NIC's first address of an IP version: Nova describes only
// the first subnet of each version.
func firstIP(nic compute.NIC, version int) *compute.FixedIP {
	for i := range nic.IPs {
		if nic.IPs[i].Version == version {
			return &nic.IPs[i]
		}
	}
	return nil
}

// network is one entry of "networks" (_get_nets).
func network(md Metadata, nic compute.NIC, ip compute.FixedIP, num int, link string) (networkJSON, error) {
	n := networkJSON{ID: fmt.Sprintf("network%d", num), Type: fmt.Sprintf("ipv%d", ip.Version),
		Link: link, NetworkID: nic.NetworkID}
	if md.DHCP {
		n.Type += "_dhcp"
		return n, nil
	}
	_, cidr, err := net.ParseCIDR(ip.CIDR)
	if err != nil {
		return n, fmt.Errorf("configdrive: NIC %s: subnet %q: %w", nic.PortID, ip.CIDR, err)
	}
	n.IPAddress, n.Netmask = ip.Address, net.IP(cidr.Mask).String()
	routes := []routeJSON{}
	switch {
	case ip.Gateway == "":
	case ip.Version == 4:
		routes = append(routes, routeJSON{Network: "0.0.0.0", Netmask: "0.0.0.0", Gateway: ip.Gateway})
	default:
		routes = append(routes, routeJSON{Network: "::", Netmask: "::", Gateway: ip.Gateway})
	}
	n.Routes = &routes
	services := append([]serviceJSON{}, dnsServices(ip)...)
	n.Services = &services
	return n, nil
}

func dnsServices(ip compute.FixedIP) []serviceJSON {
	var s []serviceJSON
	for _, a := range ip.DNS {
		s = append(s, serviceJSON{Type: "dns", Address: a})
	}
	return s
}

// pythonJSON encodes v as Nova's jsonutils.dump_as_bytes does (Python's
// json.dumps): ", " and ": " between items, nothing HTML-escaped, and
// non-ASCII characters as \uXXXX escapes (ensure_ascii).
func pythonJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	compact := strings.TrimSuffix(buf.String(), "\n")
	out := make([]byte, 0, len(compact)+len(compact)/8)
	inString, escaped := false, false
	for _, r := range compact { // valid UTF-8: the encoder replaced invalid bytes
		switch {
		case r >= 0x80:
			for _, u := range utf16.Encode([]rune{r}) {
				out = fmt.Appendf(out, "\\u%04x", u)
			}
			continue
		case escaped:
			escaped = false
		case inString && r == '\\':
			escaped = true
		case r == '"':
			inString = !inString
		case !inString && (r == ',' || r == ':'):
			out = append(out, byte(r), ' ')
			continue
		}
		out = append(out, byte(r))
	}
	return out, nil
}
