package httpx

// ListOf renders each item of a list with view, for the list bodies of
// every API family: an empty or nil list renders as [] (never null), as
// OpenStack services answer.
func ListOf[T, V any](items []T, view func(T) V) []V {
	out := make([]V, len(items))
	for i, x := range items {
		out[i] = view(x)
	}
	return out
}
