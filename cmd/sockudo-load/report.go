package main

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"text/tabwriter"
)

// Verdicts.
const (
	verdictOK   = "ok"
	verdictMiss = "MISS"
	verdictNone = "-"
)

// row is one figure of both targets.
type row struct {
	scenario, metric string
	sockudo, floor   float64
	ratio            bool   // print sockudo / floor
	target           string // "" when the row has no target
	verdict          string // verdictOK or verdictMiss when it has one
}

func ratio(s, f float64) float64 {
	if f == 0 {
		return math.NaN()
	}
	return s / f
}

func atMost(v, limit float64) string {
	if v <= limit { // false for NaN
		return verdictOK
	}
	return verdictMiss
}

func atLeast(v, limit float64) string {
	if v >= limit {
		return verdictOK
	}
	return verdictMiss
}

// formatValue prints v with three significant decimals at most.
func formatValue(v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return verdictNone
	case v == math.Trunc(v) || math.Abs(v) >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case math.Abs(v) >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	default:
		return strconv.FormatFloat(v, 'f', 3, 64)
	}
}

// printTable writes the rows and a summary of the targets.
func printTable(w io.Writer, rows []row) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tMETRIC\tSOCKUDO\tFLOOR\tRATIO\tTARGET\tRESULT")
	ok, missed := 0, 0
	for _, r := range rows {
		rat := verdictNone
		if r.ratio {
			if q := ratio(r.sockudo, r.floor); !math.IsNaN(q) {
				rat = strconv.FormatFloat(q, 'f', 2, 64)
			}
		}
		target, verdict := r.target, r.verdict
		if target == "" {
			target = verdictNone
		}
		switch verdict {
		case verdictOK:
			ok++
		case verdictMiss:
			missed++
		default:
			verdict = verdictNone
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.scenario, r.metric, formatValue(r.sockudo), formatValue(r.floor), rat, target, verdict)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "# targets: %d ok, %d missed\n", ok, missed)
	return err
}
