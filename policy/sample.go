package policy

import (
	"fmt"
	"strconv"
	"strings"
)

// Sample renders every rule, commented out, as a policy.yaml an operator can
// copy and edit. A name defined in several lists is shown once (first wins).
func Sample(sets ...[]Rule) []byte {
	var b strings.Builder
	b.WriteString("# imagestack policy: every rule with its built-in default, commented out.\n")
	b.WriteString("# Copy to policy.yaml and uncomment the rules you want to change. Rule names\n")
	b.WriteString("# and check strings are those of Glance, Nova and Keystone.\n")
	seen := map[string]bool{}
	for _, set := range sets {
		for _, r := range set {
			if seen[r.Name] {
				continue
			}
			seen[r.Name] = true
			fmt.Fprintf(&b, "\n# %s\n#%s: %s\n", r.Description, strconv.Quote(r.Name), strconv.Quote(r.Check))
		}
	}
	return []byte(b.String())
}
