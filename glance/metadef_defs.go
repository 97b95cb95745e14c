package glance

import (
	"encoding/json"
	"time"
)

// MetadefProperty defines one property: a subset of JSON Schema, as Glance
// stores and serves it. Unset fields are absent from the JSON.
type MetadefProperty struct {
	// Name is set where the property stands alone (the properties API);
	// inside a namespace or object the map key names it.
	Name            string           `json:"name,omitempty"`
	Type            string           `json:"type"`
	Title           string           `json:"title"`
	Description     string           `json:"description,omitempty"`
	Operators       []string         `json:"operators,omitempty"`
	Default         json.RawMessage  `json:"default,omitempty"`
	Readonly        *bool            `json:"readonly,omitempty"`
	Minimum         *float64         `json:"minimum,omitempty"`
	Maximum         *float64         `json:"maximum,omitempty"`
	Enum            json.RawMessage  `json:"enum,omitempty"`
	Pattern         string           `json:"pattern,omitempty"`
	MinLength       *int64           `json:"minLength,omitempty"`
	MaxLength       *int64           `json:"maxLength,omitempty"`
	Confidential    *bool            `json:"confidential,omitempty"`
	Items           *MetadefItemType `json:"items,omitempty"`
	UniqueItems     *bool            `json:"uniqueItems,omitempty"`
	MinItems        *int64           `json:"minItems,omitempty"`
	MaxItems        *int64           `json:"maxItems,omitempty"`
	AdditionalItems *bool            `json:"additionalItems,omitempty"`
}

// MetadefItemType is the element type of an array property.
type MetadefItemType struct {
	Type string          `json:"type,omitempty"`
	Enum json.RawMessage `json:"enum,omitempty"`
}

// MetadefObject is a named group of property definitions.
type MetadefObject struct {
	Name        string                     `json:"name"`
	Description string                     `json:"description,omitempty"`
	Required    []string                   `json:"required"` // [] when none, as Glance shows it
	Properties  map[string]MetadefProperty `json:"properties,omitempty"`
	CreatedAt   time.Time                  `json:"-"`
	UpdatedAt   time.Time                  `json:"-"`
}

// MetadefTag is a tag a namespace offers.
type MetadefTag struct {
	Name      string
	CreatedAt time.Time
	UpdatedAt time.Time
}
