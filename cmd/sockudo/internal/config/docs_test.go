package config

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// docRow is one table row of docs/configuration.md: its names (a row may
// list several, or end a name with * to cover a prefix) and its status.
type docRow struct {
	names  []string
	status string // "supported", "ignored" or "sdk"
}

var codeName = regexp.MustCompile("`([^`]+)`")

// docSections parses the tables of docs/configuration.md by "## " section
// title: each row's first cell holds the names, the last its status.
func docSections(t *testing.T) map[string][]docRow {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]docRow{}
	section := ""
	for _, line := range strings.Split(string(data), "\n") {
		if title, ok := strings.CutPrefix(line, "## "); ok {
			section = title
			continue
		}
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		status, _, _ := strings.Cut(strings.TrimSpace(cells[len(cells)-1]), ":")
		var names []string
		for _, m := range codeName.FindAllStringSubmatch(cells[0], -1) {
			names = append(names, m[1])
		}
		out[section] = append(out[section], docRow{names: names, status: status})
	}
	return out
}

// checkDocumented compares the names the code reads with a section's rows
// and fails naming every difference, so a new key's row can be added from
// the message alone.
func checkDocumented(t *testing.T, what string, read []string, rows []docRow) {
	t.Helper()
	isRead := map[string]bool{}
	for _, n := range read {
		isRead[n] = true
	}
	supported := map[string]bool{}
	var notRead, readButIgnored, missing []string
	for _, r := range rows {
		for _, n := range r.names {
			switch r.status {
			case "supported":
				supported[n] = true
				if !isRead[n] {
					notRead = append(notRead, n)
				}
			case "ignored", "sdk":
				for _, m := range read {
					if m == n || strings.HasSuffix(n, "*") && strings.HasPrefix(m, strings.TrimSuffix(n, "*")) {
						readButIgnored = append(readButIgnored, m+" (row "+n+")")
					}
				}
			default:
				t.Errorf("docs/configuration.md: %s row %q has status %q; want supported, ignored or sdk", what, n, r.status)
			}
		}
	}
	for _, n := range read {
		if !supported[n] {
			missing = append(missing, n)
		}
	}
	for _, l := range []struct {
		names []string
		msg   string
	}{
		{missing, "read by the loader but not documented as supported in docs/configuration.md; add rows for"},
		{notRead, "documented as supported in docs/configuration.md but not read by the loader; remove or fix the rows for"},
		{readButIgnored, "documented as ignored in docs/configuration.md but read by the loader; mark supported"},
	} {
		if len(l.names) > 0 {
			sort.Strings(l.names)
			t.Errorf("%s %s: %s", what, l.msg, strings.Join(l.names, ", "))
		}
	}
}

func TestDocsListEveryConfigKey(t *testing.T) {
	s := docSections(t)
	checkDocumented(t, "config.json keys", FileKeys(), s["config.json keys"])
}

func TestDocsListEveryEnvironmentVariable(t *testing.T) {
	s := docSections(t)
	checkDocumented(t, "environment variables", EnvNames(), s["Environment variables"])
}

func TestDocsListEveryAppSetting(t *testing.T) {
	s := docSections(t)
	// The section also holds the table of unset limits, whose last cell
	// is a meaning, not a status: keep the status tables' rows.
	var supported []docRow
	ignored := map[string]bool{}
	for _, r := range s["App settings"] {
		switch r.status {
		case "ignored":
			for _, n := range r.names {
				ignored[n] = true
			}
		case "supported":
			supported = append(supported, r)
		}
	}
	checkDocumented(t, "app settings", AppKeys(), supported)
	var missing []string
	for k := range IgnoredAppKeys() {
		if !ignored[k] {
			missing = append(missing, k)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("app settings ignored at start but not documented as ignored in docs/configuration.md: %s", strings.Join(missing, ", "))
	}
}

// The name sets come from the code, not from a list kept by hand.
func TestLoaderNameSets(t *testing.T) {
	keys, envs := FileKeys(), EnvNames()
	for _, want := range []string{"port", "database.redis.cluster.nodes", "app_manager.array.apps", "http_api.request_limit_in_mb"} {
		if !slices.Contains(keys, want) {
			t.Errorf("FileKeys lacks %s", want)
		}
	}
	for _, unwanted := range []string{"app_manager.DefaultApp", "ignoredApps", "app_manager.skipInline"} {
		if slices.Contains(keys, unwanted) {
			t.Errorf("FileKeys lists the unexported or unread %s", unwanted)
		}
	}
	for _, want := range []string{"PORT", "SOCKUDO_DEFAULT_APP_SECRET", "DATABASE_POSTGRES_USER", "WEBSOCKET_MAX_PAYLOAD_KB"} {
		if !slices.Contains(envs, want) {
			t.Errorf("EnvNames lacks %s", want)
		}
	}
}
