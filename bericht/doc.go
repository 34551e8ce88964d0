// Package bericht describes the messages of iWmo 3.2 and iJw 3.2: the 28
// berichtsoorten with their BerichtCode, namespace, direction and pairing,
// and the header every message carries.
//
// It is the leaf of the module: it imports nothing of the project and holds
// no state, so every other package may use it. All functions are safe for
// concurrent use.
package bericht
