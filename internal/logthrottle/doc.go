// Package logthrottle bounds how many lines a path that a client can
// trigger at will (a failing store lookup, a refused request) writes to
// the log, so that a flood cannot fill the disk or drown other lines.
// What is held back is counted and reported on the next line let through.
package logthrottle
