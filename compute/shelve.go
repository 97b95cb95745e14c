package compute

// Shelving (Nova's shelve, shelveOffload and unshelve) and backups
// (createBackup): their vm_states, task_states, action names and the system
// metadata keys a shelved server carries.

// vm_states of shelved servers. A shelved server's VM is powered off but
// still defined on the host; an offloaded one has no VM at all (its disk
// lives on as the shelved image) and holds no host resources.
const (
	VMShelved          = "shelved"
	VMShelvedOffloaded = "shelved_offloaded"
)

// task_states of shelving, unshelving and backups, in the order they come.
const (
	TaskShelving           = "shelving"
	TaskShelvingPending    = "shelving_image_pending_upload"
	TaskShelvingUploading  = "shelving_image_uploading"
	TaskShelvingOffloading = "shelving_offloading"
	TaskUnshelving         = "unshelving"
	TaskImageBackup        = "image_backup"
)

// Action names, as Nova records them.
const (
	ActionShelve        = "shelve"
	ActionShelveOffload = "shelveOffload"
	ActionUnshelve      = "unshelve"
	ActionBackup        = "createBackup"
)

// System metadata keys of a shelved server (Nova's): when it was shelved,
// the image holding its disk, and the host it was shelved on. Unshelving
// removes them.
const (
	SysShelvedAt      = "shelved_at"
	SysShelvedImageID = "shelved_image_id"
	SysShelvedHost    = "shelved_host"
)
