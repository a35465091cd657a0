package main

import (
	"runtime"
	"runtime/debug"
	"strings"
)

// versionString names the build: the module version, the VCS revision and
// time when the binary was built from a checkout, and the Go version.
func versionString() string {
	bi, _ := debug.ReadBuildInfo()
	return formatVersion(bi)
}

func formatVersion(bi *debug.BuildInfo) string {
	version := "(unknown)"
	var vcs []string
	if bi != nil {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		var rev, at, dirty string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				at = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					dirty = "+dirty"
				}
			}
		}
		if rev != "" {
			vcs = append(vcs, "revision "+rev+dirty)
		}
		if at != "" {
			vcs = append(vcs, at)
		}
	}
	out := "sockudo " + version
	if len(vcs) > 0 {
		out += " (" + strings.Join(vcs, ", ") + ")"
	}
	return out + " " + runtime.Version()
}
