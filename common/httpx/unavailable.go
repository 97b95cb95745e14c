package httpx

// What every API family sends with a 503 (an engine, the database or an
// image store, did not answer): clients such as keystoneauth and
// glanceclient may retry after RetryAfter seconds.
const (
	RetryAfter         = "30"
	UnavailableMessage = "The service is temporarily unavailable; try again later."
)
