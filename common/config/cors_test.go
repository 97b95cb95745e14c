package config_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"imagestack/common/config"
)

// The cors section keeps its defaults for keys it does not name; the sample
// is the defaults (CORS off); a bad setting stops start-up.
func TestCORS(t *testing.T) {
	c, err := config.Load(write(t, "cors:\n  allowed_origins: [https://dashboard.example.com]\n  max_age: 60\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.CORS.AllowedOrigins) != 1 || c.CORS.MaxAge != 60 || !c.CORS.AllowCredentials ||
		!slices.Contains(c.CORS.AllowHeaders, "X-Auth-Token") || !slices.Contains(c.CORS.AllowMethods, "PUT") {
		t.Fatalf("cors: %+v", c.CORS)
	}
	sample, err := config.Load("../../etc/imagestack.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(sample.CORS.AllowedOrigins) == 0 {
		sample.CORS.AllowedOrigins = nil // [] in the file, nil by default
	}
	if def, _ := config.Load(""); !reflect.DeepEqual(sample.CORS, def.CORS) || len(def.CORS.AllowedOrigins) != 0 {
		t.Fatalf("cors sample %+v, defaults %+v", sample.CORS, def.CORS)
	}
	if _, err := config.Load(write(t, "cors:\n  allow_headers: [X-Image-Meta-*]\n")); err == nil || !strings.Contains(err.Error(), "config: cors:") {
		t.Fatalf("a partial wildcard header: %v", err)
	}
}
