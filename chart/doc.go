// Package chart draws the dashboards' charts as inline SVG, on the server,
// and writes their numbers, amounts and dates the Dutch way (nl-NL): the
// pages are lang="nl" and carry no script, so whatever a chart shows is in
// the HTML itself.
package chart
