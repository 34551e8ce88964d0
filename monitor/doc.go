// Package monitor is the operations page of a running switch: what an
// operator watches to see that messages flow. It samples the node's own
// metrics registry into a history of buckets per range (an hour, a day, a
// week, 12 weeks), kept across restarts, and draws from it and from the
// store the ingest rate, refusals by code, latency, mailboxes and their
// oldest waiting message, quarantine, push endpoints and the feed's lag.
// The page carries no personal data: party codes, message ids, counts.
package monitor
