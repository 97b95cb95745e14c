package config

// ImageConversionConfig is Glance's [image_conversion], with the limits
// qemu-img convert (and xz, for image_decompression) run under.
type ImageConversionConfig struct {
	// OutputFormat: raw (default), qcow2 or vmdk.
	OutputFormat string `yaml:"output_format"`
	// CPUTimeLimit and AddressSpaceLimit (bytes) are set in the child
	// (setrlimit, through prlimit); Timeout stops a longer run.
	CPUTimeLimit      Duration `yaml:"cpu_time_limit"`
	AddressSpaceLimit int64    `yaml:"address_space_limit"`
	Timeout           Duration `yaml:"timeout"`
}

// InjectMetadataConfig is Glance's [inject_metadata_properties].
type InjectMetadataConfig struct {
	// Inject are the properties added to images imported by callers
	// without one of IgnoreUserRoles (default [admin]).
	Inject          map[string]string `yaml:"inject"`
	IgnoreUserRoles []string          `yaml:"ignore_user_roles"`
}
