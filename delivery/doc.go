// Package delivery pushes messages to parties whose registry entry says
// `delivery: push`: gemeenten get a StUF-GGk envelope (Di01 for a
// heenbericht, Du01 for a retourbericht) over SOAP, signed when a Signer is
// configured; aanbieders get the REST push convention of VECOZO's VSP (POST
// multipart/form-data with berichtMetadata and payload, 204 accepted, 400
// and 422 refused for good).
//
// One worker per endpoint consumes its party's mailbox through the store's
// List, Get and Ack: the lease List takes is the message in flight, so
// delivery is at-least-once and a message is confirmed only on the
// endpoint's positive answer, and only once Config.Audit has recorded the
// push as a fetch by the recipient (an unrecorded push is pushed again). Failed attempts back off exponentially with
// jitter; a circuit breaker stops hammering a dead endpoint; after
// MaxAttempts the message goes to quarantine with an operator alert (metric
// knooppunt_delivery_quarantined_total and an error log line). Each worker
// runs on its own, so a slow or dead endpoint never delays the others. The
// endpoint is looked up in the registry for every attempt, so a changed
// push_url applies to messages already queued, and a restart resumes from
// the mailbox: whatever was not confirmed is listed again once its lease
// ends.
package delivery
