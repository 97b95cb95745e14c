package hostrpc

import (
	"context"
	"errors"
	"fmt"

	"imagestack/compute"
)

// mPrecache asks a host to fetch an image into its cache (os-aggregates'
// images action), the way a boot would, without a server.
const mPrecache = "precache"

// Precache has host fetch the image ref (Ref) into its cache, returning
// once it is there or failed; a host that is down is ErrUnavailable.
func (h *Hypervisor) Precache(ctx context.Context, host, ref string) error {
	_, err := h.callHost(ctx, host, mPrecache, "", callArgs{Image: ref})
	return err
}

// precache runs a precache call on this host with its resolver.
func (a *Agent) precache(ctx context.Context, _ callRow, args callArgs) (callResult, error) {
	id, sum, ok, err := parseRef(args.Image)
	switch {
	case err != nil:
		return callResult{}, compute.Errorf(compute.ErrBadRequest, "%v", err)
	case !ok:
		return callResult{}, compute.Errorf(compute.ErrBadRequest, "precache needs an image reference, not %q", args.Image)
	case a.cfg.Resolve == nil:
		return callResult{}, errors.New("this host resolves no image references")
	}
	if _, err := a.cfg.Resolve(ctx, id, sum); err != nil {
		return callResult{}, fmt.Errorf("precache image %s: %w", id, err)
	}
	return callResult{}, nil
}
