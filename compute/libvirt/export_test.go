package libvirt

// DetectVirtTypeWith is DetectVirtType with the KVM device at kvmDevice.
var DetectVirtTypeWith = detectVirtType
