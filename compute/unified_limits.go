package compute

import "context"

// UnifiedLimitNames maps the compute resources of Keystone's unified limits
// (as Nova's UnifiedLimitsDriver names them) to the quota names of
// os-quota-sets.
var UnifiedLimitNames = map[string]string{
	"servers":                            QuotaInstances,
	"class:VCPU":                         QuotaCores,
	"class:MEMORY_MB":                    QuotaRAM,
	"server_key_pairs":                   QuotaKeyPairs,
	"server_groups":                      QuotaServerGroups,
	"server_group_members":               QuotaServerGroupMembers,
	"server_metadata_items":              QuotaMetadataItems,
	"server_injected_files":              QuotaInjectedFiles,
	"server_injected_file_content_bytes": QuotaInjectedFileContentBytes,
	"server_injected_file_path_bytes":    QuotaInjectedFilePathBytes,
}

// Limits reads the unified limits in force for a project (Keystone's limits
// of the compute service).
type Limits interface {
	// ProjectLimits returns, for each of resources that has a limit, the
	// project's own limit or else the registered default (projectID ""
	// gives the registered defaults only); a resource left out, or -1, is
	// unlimited.
	ProjectLimits(ctx context.Context, projectID string, resources []string) (map[string]int64, error)
}
