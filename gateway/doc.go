// Package gateway is the HTTP API of the switch: the door every zorgaanbieder
// and gemeente uses.
//
// It authenticates the caller (mutual TLS in production, bearer tokens only
// where the configuration enables them), takes messages in (POST
// /v1/berichten, a ZIP batch, validation only), hands out mailboxes in the
// pull-and-confirm style aanbieder software knows from VECOZO (list at most
// 250, fetch the exact bytes, confirm each by DELETE), answers track & trace
// queries and serves /healthz, /readyz and /metrics.
//
// The gateway holds no state of its own and depends only on the small
// interfaces declared in ports.go (Validator, Router, Store, Parties); the
// command wires them to the xsd, routing and store packages. Every handler
// returns an error; one adapter turns it into a JSON body with a stable code
// (see the catalogue in errors.go), sets the status, logs the request once
// and counts it. Logs and metrics carry codes, ids, berichtsoorten and party
// codes only: never a BSN, a name, an address or any payload text.
//
// A message is answered 202 only after Store.Put returned, which the store
// promises to do only once the message is synced to disk.
//
// A Server is safe for concurrent use; Shutdown and Close may each be called
// more than once.
package gateway
