package api

import (
	"net/http"

	"imagestack/compute"
	"imagestack/compute/service"
)

// Resources each microversion stops showing, as Nova's quota-set filters.
var (
	networkQuotas  = []string{compute.QuotaFixedIPs, compute.QuotaFloatingIPs, compute.QuotaSecurityGroupRules, compute.QuotaSecurityGroups}
	injectedQuotas = []string{compute.QuotaInjectedFiles, compute.QuotaInjectedFileContentBytes, compute.QuotaInjectedFilePathBytes}
)

// hiddenQuotas are the resources the request's microversion does not show
// in os-quota-sets (class: os-quota-class-sets, which dropped the network
// ones only at 2.50 and showed server groups only from 2.50).
func hiddenQuotas(r *http.Request, class bool) map[string]bool {
	hidden := map[string]bool{}
	hide := func(names []string) {
		for _, n := range names {
			hidden[n] = true
		}
	}
	switch {
	case class && !atLeast(r, "2.50"):
		hide([]string{compute.QuotaServerGroups, compute.QuotaServerGroupMembers})
	case class || atLeast(r, "2.36"):
		hide(networkQuotas)
	}
	if atLeast(r, "2.57") {
		hide(injectedQuotas)
	}
	return hidden
}

// quotaSetView is a quota set: T is the limit (int) or, for /detail, a
// quotaDetailView; resources the microversion hides are nil.
type quotaSetView[T any] struct {
	ID                       string `json:"id,omitempty"`
	Cores                    *T     `json:"cores,omitempty"`
	FixedIPs                 *T     `json:"fixed_ips,omitempty"`
	FloatingIPs              *T     `json:"floating_ips,omitempty"`
	InjectedFileContentBytes *T     `json:"injected_file_content_bytes,omitempty"`
	InjectedFilePathBytes    *T     `json:"injected_file_path_bytes,omitempty"`
	InjectedFiles            *T     `json:"injected_files,omitempty"`
	Instances                *T     `json:"instances,omitempty"`
	KeyPairs                 *T     `json:"key_pairs,omitempty"`
	MetadataItems            *T     `json:"metadata_items,omitempty"`
	RAM                      *T     `json:"ram,omitempty"`
	SecurityGroupRules       *T     `json:"security_group_rules,omitempty"`
	SecurityGroups           *T     `json:"security_groups,omitempty"`
	ServerGroupMembers       *T     `json:"server_group_members,omitempty"`
	ServerGroups             *T     `json:"server_groups,omitempty"`
}

// fields are the view's resource slots by resource name.
func (v *quotaSetView[T]) fields() map[string]**T {
	return map[string]**T{
		compute.QuotaCores: &v.Cores, compute.QuotaFixedIPs: &v.FixedIPs, compute.QuotaFloatingIPs: &v.FloatingIPs,
		compute.QuotaInjectedFileContentBytes: &v.InjectedFileContentBytes, compute.QuotaInjectedFilePathBytes: &v.InjectedFilePathBytes,
		compute.QuotaInjectedFiles: &v.InjectedFiles, compute.QuotaInstances: &v.Instances, compute.QuotaKeyPairs: &v.KeyPairs,
		compute.QuotaMetadataItems: &v.MetadataItems, compute.QuotaRAM: &v.RAM, compute.QuotaSecurityGroupRules: &v.SecurityGroupRules,
		compute.QuotaSecurityGroups: &v.SecurityGroups, compute.QuotaServerGroupMembers: &v.ServerGroupMembers,
		compute.QuotaServerGroups: &v.ServerGroups,
	}
}

// quotaDetailView is one quota of /os-quota-sets/{project}/detail.
type quotaDetailView struct {
	Limit    int `json:"limit"`
	InUse    int `json:"in_use"`
	Reserved int `json:"reserved"`
}

// newQuotaSet renders set (id "" leaves the id out, as Nova's update
// answer), each quota as render makes it, without the hidden resources.
func newQuotaSet[T any](id string, set service.QuotaSet, hidden map[string]bool, render func(service.Quota) T) quotaSetView[T] {
	v := quotaSetView[T]{ID: id}
	for name, slot := range v.fields() {
		if q, ok := set[name]; ok && !hidden[name] {
			val := render(q)
			*slot = &val
		}
	}
	return v
}

func quotaLimit(q service.Quota) int { return q.Limit }

func quotaDetail(q service.Quota) quotaDetailView {
	return quotaDetailView{Limit: q.Limit, InUse: q.InUse}
}

// quotaSetBody is {"quota_set": ...}.
type quotaSetBody[T any] struct {
	QuotaSet quotaSetView[T] `json:"quota_set"`
}

// quotaClassSetBody is {"quota_class_set": ...}.
type quotaClassSetBody struct {
	QuotaClassSet quotaSetView[int] `json:"quota_class_set"`
}

// limitsBody answers GET /limits: no rate limits, Nova's absolute limits.
type limitsBody struct {
	Limits struct {
		Rate     []struct{}     `json:"rate"`
		Absolute map[string]int `json:"absolute"`
	} `json:"limits"`
}

// absoluteNames are the /limits names of each resource's limit and use
// (Nova's limits view).
var absoluteNames = []struct {
	resource   string
	limits     []string
	used       string
	removedMin string // microversion that stopped showing it ("" never)
}{
	{compute.QuotaRAM, []string{"maxTotalRAMSize"}, "totalRAMUsed", ""},
	{compute.QuotaInstances, []string{"maxTotalInstances"}, "totalInstancesUsed", ""},
	{compute.QuotaCores, []string{"maxTotalCores"}, "totalCoresUsed", ""},
	{compute.QuotaKeyPairs, []string{"maxTotalKeypairs"}, "", ""},
	{compute.QuotaFloatingIPs, []string{"maxTotalFloatingIps"}, "totalFloatingIpsUsed", "2.36"},
	{compute.QuotaMetadataItems, []string{"maxServerMeta", "maxImageMeta"}, "", ""},
	{compute.QuotaInjectedFiles, []string{"maxPersonality"}, "", "2.57"},
	{compute.QuotaInjectedFileContentBytes, []string{"maxPersonalitySize"}, "", "2.57"},
	{compute.QuotaSecurityGroups, []string{"maxSecurityGroups"}, "totalSecurityGroupsUsed", "2.36"},
	{compute.QuotaSecurityGroupRules, []string{"maxSecurityGroupRules"}, "", "2.36"},
	{compute.QuotaServerGroups, []string{"maxServerGroups"}, "totalServerGroupsUsed", ""},
	{compute.QuotaServerGroupMembers, []string{"maxServerGroupMembers"}, "", ""},
}

// newLimitsBody renders the limits in force and their use at the
// request's microversion (maxImageMeta is gone from 2.39).
func newLimitsBody(r *http.Request, set service.QuotaSet) limitsBody {
	var b limitsBody
	b.Limits.Rate = []struct{}{}
	b.Limits.Absolute = map[string]int{}
	for _, n := range absoluteNames {
		if n.removedMin != "" && atLeast(r, n.removedMin) {
			continue
		}
		q := set[n.resource]
		for _, name := range n.limits {
			if name != "maxImageMeta" || !atLeast(r, "2.39") {
				b.Limits.Absolute[name] = q.Limit
			}
		}
		if n.used != "" {
			b.Limits.Absolute[n.used] = q.InUse
		}
	}
	return b
}
