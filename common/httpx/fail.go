package httpx

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"imagestack/common/apierr"
)

// ErrorTable is an API family's one error table: service error kind ->
// status, the first kind that matches wins (an error may wrap several). Its
// rows are unnamed structs so that each family writes them positionally.
type ErrorTable []struct {
	Kind   error
	Status int
}

// InternalMessage is the 500 body of Glance and Keystone, with the request
// id in place of %s: clients see the id, the details stay in the log.
const InternalMessage = "An unexpected error prevented the server from fulfilling your request (request id %s)."

// Failure is what Fail needs to know of one API family.
type Failure struct {
	Name    string             // "image", "compute", "identity": the log says "image request failed"
	Table   ErrorTable         // the family's kinds and statuses
	Message func(error) string // the client text of an error of a known kind
	// Internal is the 500 body, %s standing for the request id.
	Internal string
	Write    ErrorWriter // the family's error body
	Log      *slog.Logger
}

// Fail answers err the same way in every family: a kind of the table with
// its status and message, a 503 with Retry-After (and a warning in the log,
// as the outage is the operator's business), anything else as a logged 500
// whose body names only the request id.
func Fail(w http.ResponseWriter, r *http.Request, err error, f Failure) {
	for _, e := range f.Table {
		if errors.Is(err, e.Kind) {
			msg := f.Message(err)
			if e.Status == http.StatusServiceUnavailable {
				w.Header().Set("Retry-After", RetryAfter)
				f.Log.WarnContext(r.Context(), f.Name+" request answered 503", "request_id", RequestID(r.Context()), "err", err)
				msg = apierr.Message(err, UnavailableMessage)
			}
			f.Write(w, r, e.Status, msg)
			return
		}
	}
	id := RequestID(r.Context())
	f.Log.ErrorContext(r.Context(), f.Name+" request failed", "request_id", id, "method", r.Method, "path", r.URL.Path, "err", err)
	f.Write(w, r, http.StatusInternalServerError, fmt.Sprintf(f.Internal, id))
}
