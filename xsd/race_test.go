//go:build race

package xsd

const raceEnabled = true
