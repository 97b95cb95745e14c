package hostrpc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

	"imagestack/common/apierr"
	"imagestack/compute"
)

// What a call carries, as JSON in host_calls.Args and Result.

// callArgs are a call's arguments; each method reads its own.
type callArgs struct {
	Spec   *wireSpec           `json:"spec,omitempty"`
	Hard   bool                `json:"hard,omitempty"`
	Size   *compute.ResizeSpec `json:"size,omitempty"`
	BlobID string              `json:"blob,omitempty"`  // Snapshot: the blob store key the host writes the snapshot to
	Image  string              `json:"image,omitempty"` // Precache: the image's reference (Ref)
}

// wireSpec is a SpawnSpec as it crosses hosts: BaseImage, Kernel and
// Ramdisk are image references or paths, ConfigDrive is dropped for
// ConfigDriveData, which the host writes to a file of its own.
type wireSpec struct {
	compute.SpawnSpec
	ConfigDriveData []byte `json:"config_drive_data,omitempty"`
}

// callResult is what a call returned besides its error.
type callResult struct {
	Power  compute.PowerState  `json:"power,omitempty"`
	Output []byte              `json:"output,omitempty"`
	Socket string              `json:"socket,omitempty"`
	Size   *compute.ResizeSpec `json:"size,omitempty"`
}

// maxConfigDrive bounds the config drive a call carries (in the database,
// base64 in JSON: MariaDB's default max_allowed_packet is 16 MiB). Nova's
// are well under 1 MiB.
const maxConfigDrive = 8 << 20

// errorKinds names the compute error kinds that survive the trip.
var errorKinds = map[string]error{
	"bad_request": compute.ErrBadRequest,
	"forbidden":   compute.ErrForbidden,
	"not_found":   compute.ErrNotFound,
	"conflict":    compute.ErrConflict,
	"over_quota":  compute.ErrOverQuota,
	"unavailable": compute.ErrUnavailable,
}

// encodeError splits err into its kind's name ("" for none of
// errorKinds), its client-facing message ("" when it has none) and its
// whole text.
func encodeError(err error) (kind, msg, detail string) {
	for name, k := range errorKinds {
		if errors.Is(err, k) {
			kind = name
			break
		}
	}
	return kind, apierr.Message(err, ""), err.Error()
}

// RemoteError is the error a call failed with on its host: errors.Is
// finds its compute kind (ErrNotFound, ErrConflict, ...) and
// compute.Message its client-facing message, as on the host.
type RemoteError struct {
	Host   string
	Kind   error  // one of compute's error kinds, or nil
	Msg    string // the client-facing message, "" when none
	Detail string // the error's text on the host
}

func (e *RemoteError) Error() string { return "host " + e.Host + ": " + e.Detail }

// Unwrap gives errors.Is the kind and errors.As the client-facing message.
func (e *RemoteError) Unwrap() []error {
	var out []error
	if e.Kind != nil {
		out = append(out, e.Kind)
	}
	if e.Msg != "" {
		out = append(out, &apierr.Error{Kind: e.Kind, Msg: e.Msg})
	}
	return out
}

func decodeError(row callRow) error {
	return &RemoteError{Host: row.Host, Kind: errorKinds[row.ErrorKind], Msg: row.ErrorMessage, Detail: row.ErrorDetail}
}

// imageScheme starts an image reference.
const imageScheme = "image:"

// Ref is the reference to an image that a host resolves with its own image
// cache: "image:<id>?checksum=<md5>".
func Ref(imageID, checksum string) string {
	return imageScheme + url.PathEscape(imageID) + "?" + url.Values{"checksum": {checksum}}.Encode()
}

// parseRef returns the image and checksum of a reference; ok is false for
// a plain path.
func parseRef(s string) (imageID, checksum string, ok bool, err error) {
	rest, ok := strings.CutPrefix(s, imageScheme)
	if !ok {
		return "", "", false, nil
	}
	id, query, _ := strings.Cut(rest, "?")
	q, err := url.ParseQuery(query)
	if err == nil {
		id, err = url.PathUnescape(id)
	}
	if err != nil || id == "" {
		return "", "", true, fmt.Errorf("image reference %q: bad form", s)
	}
	return id, q.Get("checksum"), true, nil
}

// DeferredCache is the image cache of a process without a hypervisor (the
// api role): Get downloads nothing and returns a reference (Ref) that the
// server's host resolves with its own cache. It implements
// service.ImageCache.
type DeferredCache struct{}

// Get returns the image's reference.
func (DeferredCache) Get(_ context.Context, imageID, checksum string, _ func(ctx context.Context, w io.Writer) error) (string, error) {
	return Ref(imageID, checksum), nil
}

// Resolver returns the local path of an image on this host, downloading it
// into the host's cache once.
type Resolver func(ctx context.Context, imageID, checksum string) (string, error)

// Cache is a host's image cache as CacheResolver uses it (the service's
// ImageCache, compute/imagecache.Cache).
type Cache interface {
	Get(ctx context.Context, imageID, checksum string, download func(ctx context.Context, w io.Writer) error) (string, error)
}

// CacheResolver resolves references with cache, downloading a missing image
// with download (which reads the image service with the host's own
// credentials: the user's do not cross hosts).
func CacheResolver(cache Cache, download func(ctx context.Context, imageID string, w io.Writer) error) Resolver {
	return func(ctx context.Context, imageID, checksum string) (string, error) {
		return cache.Get(ctx, imageID, checksum, func(ctx context.Context, w io.Writer) error { return download(ctx, imageID, w) })
	}
}
