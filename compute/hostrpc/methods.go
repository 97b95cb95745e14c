package hostrpc

import (
	"context"
	"time"

	"imagestack/compute"
)

// The methods a call may name, with how long its caller waits for it and
// what the agent runs for it.

// method is one hypervisor method as it crosses hosts.
type method struct {
	// timeout bounds the call on both sides: the agent's hypervisor call
	// and its caller's wait. Spawns and rebuilds include fetching the base
	// image into the host's cache; snapshots copying the whole disk twice.
	timeout time.Duration
	run     func(a *Agent, ctx context.Context, row callRow, args callArgs) (callResult, error)
}

const (
	quick = time.Minute      // reading a state, a log
	power = 5 * time.Minute  // power changes
	disk  = 30 * time.Minute // operations that copy or grow a disk
	image = 2 * time.Hour    // operations that move a whole image
)

// Method names in host_calls.Method.
const (
	mSpawn         = "spawn"
	mRebuild       = "rebuild"
	mStart         = "start"
	mStop          = "stop"
	mReboot        = "reboot"
	mPause         = "pause"
	mUnpause       = "unpause"
	mDestroy       = "destroy"
	mPower         = "power_state"
	mConsoleOutput = "console_output"
	mConsoleSocket = "console_socket"
	mSnapshot      = "snapshot"
	mSuspend       = "suspend"
	mResume        = "resume"
	mResize        = "resize"
	mConfirmResize = "confirm_resize"
	mRevertResize  = "revert_resize"
	mInjectNMI     = "inject_nmi"
	mSize          = "size"
)

var methods = map[string]method{
	mSpawn: {image, func(a *Agent, ctx context.Context, row callRow, args callArgs) (callResult, error) {
		return a.spawn(ctx, args, a.hv.Spawn)
	}},
	mRebuild: {image, func(a *Agent, ctx context.Context, row callRow, args callArgs) (callResult, error) {
		return a.spawn(ctx, args, a.hv.Rebuild)
	}},
	mStart:         {power, plain(compute.Hypervisor.Start)},
	mStop:          {power, plain(compute.Hypervisor.Stop)},
	mPause:         {power, plain(compute.Hypervisor.Pause)},
	mUnpause:       {power, plain(compute.Hypervisor.Unpause)},
	mSuspend:       {disk, plain(compute.Hypervisor.Suspend)},
	mResume:        {disk, plain(compute.Hypervisor.Resume)},
	mConfirmResize: {power, plain(compute.Hypervisor.ConfirmResize)},
	mInjectNMI:     {quick, plain(compute.Hypervisor.InjectNMI)},
	mDestroy:       {power, (*Agent).destroy},
	mSnapshot:      {image, (*Agent).snapshot},
	mPrecache:      {image, (*Agent).precache},
	mExportDisk:    {image, (*Agent).exportDisk},
	mImportDisk:    {image, (*Agent).importDisk},
	mReboot: {power, func(a *Agent, ctx context.Context, row callRow, args callArgs) (callResult, error) {
		return callResult{}, a.hv.Reboot(ctx, row.ServerID, args.Hard)
	}},
	mResize: {disk, func(a *Agent, ctx context.Context, row callRow, args callArgs) (callResult, error) {
		return callResult{}, a.hv.Resize(ctx, row.ServerID, sizeOf(args))
	}},
	mRevertResize: {disk, func(a *Agent, ctx context.Context, row callRow, args callArgs) (callResult, error) {
		return callResult{}, a.hv.RevertResize(ctx, row.ServerID, sizeOf(args))
	}},
	mPower: {quick, func(a *Agent, ctx context.Context, row callRow, _ callArgs) (callResult, error) {
		ps, err := a.hv.PowerState(ctx, row.ServerID)
		return callResult{Power: ps}, err
	}},
	mConsoleOutput: {quick, func(a *Agent, ctx context.Context, row callRow, _ callArgs) (callResult, error) {
		out, err := a.hv.ConsoleOutput(ctx, row.ServerID)
		return callResult{Output: out}, err
	}},
	mConsoleSocket: {quick, func(a *Agent, ctx context.Context, row callRow, _ callArgs) (callResult, error) {
		p, err := a.hv.ConsoleSocket(ctx, row.ServerID)
		return callResult{Socket: p}, err
	}},
	mSize: {quick, (*Agent).size},
}

// plain runs a method taking only the server's id.
func plain(f func(h compute.Hypervisor, ctx context.Context, id string) error) func(*Agent, context.Context, callRow, callArgs) (callResult, error) {
	return func(a *Agent, ctx context.Context, row callRow, _ callArgs) (callResult, error) {
		return callResult{}, f(a.hv, ctx, row.ServerID)
	}
}

func sizeOf(args callArgs) compute.ResizeSpec {
	if args.Size == nil {
		return compute.ResizeSpec{}
	}
	return *args.Size
}
