package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

// Params is one store's settings as the configuration holds them. The
// backend owns their shape: it decodes them into its own typed struct, so
// neither the configuration nor the wiring needs to know any backend.
type Params interface {
	// Decode fills v, a pointer to the backend's settings struct, and fails
	// on a setting v has no field for (a typo never falls back to a default).
	Decode(v any) error
}

// YAML is Params written as a YAML mapping (empty: no settings).
type YAML []byte

// Decode implements Params, rejecting unknown keys.
func (y YAML) Decode(v any) error {
	dec := yaml.NewDecoder(bytes.NewReader(y))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// Factory opens a store of one type from its settings; params may be nil
// (no settings).
type Factory func(ctx context.Context, params Params) (Store, error)

var (
	factoriesMu sync.RWMutex
	factories   = map[string]Factory{}
)

// Register makes a backend available to Open under typ. Backends call it
// from init(), so that importing one (blank, in cmd) is all it takes to
// offer it; a type registered twice is a programming error and panics.
func Register(typ string, f Factory) {
	factoriesMu.Lock()
	defer factoriesMu.Unlock()
	if _, dup := factories[typ]; dup || f == nil {
		panic("storage: backend " + typ + " registered twice or without a factory")
	}
	factories[typ] = f
}

// Types lists the registered backend types, sorted.
func Types() []string {
	factoriesMu.RLock()
	defer factoriesMu.RUnlock()
	return slices.Sorted(maps.Keys(factories))
}

// Open opens a store of type typ with its settings.
func Open(ctx context.Context, typ string, params Params) (Store, error) {
	factoriesMu.RLock()
	f, ok := factories[typ]
	factoriesMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("storage: no backend of type %q (registered: %s)", typ, strings.Join(Types(), ", "))
	}
	if params == nil {
		params = YAML(nil)
	}
	return f(ctx, params)
}

// Describer is implemented by stores that can show their settings to an
// admin (Glance's /v2/info/stores/detail), under glance_store's option
// names so that clients reading Glance's answer read ours.
type Describer interface {
	// Describe returns the settings; secrets never appear in them.
	Describe() map[string]any
}

// Describe returns s's settings when it is a Describer, else nil.
func Describe(s Store) map[string]any {
	if d, ok := s.(Describer); ok {
		return d.Describe()
	}
	return nil
}
