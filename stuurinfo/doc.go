// Package stuurinfo derives stuurinformatie from the message flow: counts per
// day, week and month × gemeente × aanbieder × berichtsoort of the messages
// delivered, afkeur (by the switch, in retours, and of declaratie lines, each
// apart), lead times against the norms of the standard in Dutch working
// days, start and stop volumes and the amounts declared in 323s, as
// docs/stuurinfo.md defines them. It also serves them: GET /v1/stuurinfo (JSON), the NZa
// export GET /v1/stuurinfo/nza (no personal data, small counts suppressed;
// docs/stuurinfo.md) and the operator dashboard /dashboard (HTML with inline
// SVG charts rendered on the server).
//
// The Aggregates are maintained as messages arrive — a Follower reads the
// store's change feed and hands every stored message to the observers on a
// goroutine of its own, off the ingest path, in commit order, from the
// position they saved — so a query sums maintained rows and never rescans
// messages. Rows hold codes, counts and amounts only: never a BSN,
// a name or any other content of a message.
package stuurinfo
